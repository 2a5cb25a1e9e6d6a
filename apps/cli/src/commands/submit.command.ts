import { Command } from 'commander';
import { apiClientFor, withServerOptions } from './api-command';
import { addJobRequestOptions, buildJobRequest, type JobRequestFlags } from './job-request-options';

/** `mpiaas submit`: queue a job and print its id. */
export function submitCommand(): Command {
  const command = new Command('submit').description('submit a job to the server and print its id');
  withServerOptions(addJobRequestOptions(command))
    .option('--json', 'print the whole job as JSON', false)
    .addHelpText('after', '\nExample:\n  $ mpiaas submit -n 4 --name pi examples/pi.py\n  $ mpiaas submit -n 2 --json job.py -- --steps 10')
    .action(async (script: string, args: string[], flags: JobRequestFlags & { json: boolean }, self: Command) => {
      const job = await apiClientFor(self).createJob(await buildJobRequest(script, args, flags));
      process.stdout.write(flags.json ? `${JSON.stringify(job, null, 2)}\n` : `${job.id}\n`);
    });
  return command;
}
