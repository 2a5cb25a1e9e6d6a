#!/usr/bin/env node
import { Command } from 'commander';
import { cancelCommand } from './commands/cancel.command';
import { execCommand } from './commands/exec.command';
import { downloadCommand, filesCommand } from './commands/files.command';
import { listCommand } from './commands/list.command';
import { loginCommand } from './commands/login.command';
import { logsCommand } from './commands/logs.command';
import { profileCommand } from './commands/profile.command';
import { runCommand } from './commands/run.command';
import { statusCommand } from './commands/status.command';
import { submitCommand } from './commands/submit.command';

const program = new Command('mpiaas')
  .description('MPI as a service: run mpi4py scripts on N ranks, on an mpiaas server or locally')
  .version('0.1.0')
  .enablePositionalOptions()
  .option('--url <url>', 'server address (default: $MPIAAS_URL or http://localhost:3000)')
  .option('--token <token>', 'API token, sent as a bearer token (default: $MPIAAS_TOKEN, else the one stored by mpiaas login)')
  .addCommand(runCommand())
  .addCommand(submitCommand())
  .addCommand(statusCommand())
  .addCommand(logsCommand())
  .addCommand(cancelCommand())
  .addCommand(listCommand())
  .addCommand(profileCommand())
  .addCommand(filesCommand())
  .addCommand(downloadCommand())
  .addCommand(execCommand())
  .addCommand(loginCommand())
  .addHelpText('after', '\nExamples:\n  $ mpiaas run -n 4 examples/pi.py           # on the server, output live\n  $ mpiaas exec -n 4 examples/pi.py          # on this machine, like mpirun');

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`mpiaas: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
