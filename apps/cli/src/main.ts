#!/usr/bin/env node
import { Command } from 'commander';
import { commandNamed, COMMAND_NAMES, loadCommand } from './command-registry';

const program = new Command('mpiaas')
  .description('MPI as a service: run mpi4py scripts on N ranks, on an mpiaas server or locally')
  .version('0.1.0')
  .enablePositionalOptions()
  .option('--url <url>', 'server address (default: $MPIAAS_URL or http://localhost:3000)')
  .option('--token <token>', 'API token, sent as a bearer token (default: $MPIAAS_TOKEN, else the one stored by mpiaas login)')
  .addHelpText('after', '\nExamples:\n  $ mpiaas run -n 4 examples/pi.py           # on the server, output live\n  $ mpiaas exec -n 4 examples/pi.py          # on this machine, like mpirun');

async function main(argv: string[]): Promise<void> {
  // Only the command being run is loaded: `mpiaas exec` should not pay for the HTTP client
  // and its schemas, nor `mpiaas --version` for anything (every command loaded took 0.2 s).
  // Help and mistakes need them all, to list them and suggest one.
  const named = commandNamed(argv.slice(2));
  const asksVersion = argv.includes('--version') || argv.includes('-V');
  const wanted = named ? [named] : asksVersion ? [] : COMMAND_NAMES;
  for (const command of await Promise.all(wanted.map(loadCommand))) program.addCommand(command);
  await program.parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  process.stderr.write(`mpiaas: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
