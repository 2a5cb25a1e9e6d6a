#!/usr/bin/env node
import { Command } from 'commander';
import { execCommand } from './commands/exec.command';

const program = new Command('mpiaas')
  .description('MPI as a service: run mpi4py scripts on N ranks, locally or on an mpiaas server')
  .version('0.1.0')
  .enablePositionalOptions()
  .addCommand(execCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`mpiaas: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
