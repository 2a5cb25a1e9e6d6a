import { setTimeout as delay } from 'node:timers/promises';
import { Command } from 'commander';
import { describeJob, exitCodeOf, isFinal } from '../output/job-format';
import { apiClientFor, withServerOptions } from './api-command';

const POLL_MS = 500;

/** `mpiaas status`: show a job; with --wait, wait for its end and exit with its code. */
export function statusCommand(): Command {
  return withServerOptions(new Command('status')
    .description('show a job (status, exit codes, ranks)')
    .argument('<id>', 'job id')
    .option('-w, --wait', 'poll until the job ends, then exit with its exit code', false)
    .option('--json', 'print the job as JSON', false)
    .addHelpText('after', '\nExample:\n  $ mpiaas status 3f1c…\n  $ mpiaas status --wait $(mpiaas submit -n 4 pi.py)')
    .action(async (id: string, flags: { wait: boolean; json: boolean }, self: Command) => {
      const client = apiClientFor(self);
      let job = await client.getJob(id);
      while (flags.wait && !isFinal(job.status)) {
        await delay(POLL_MS);
        job = await client.getJob(id);
      }
      process.stdout.write(flags.json ? `${JSON.stringify(job, null, 2)}\n` : `${describeJob(job)}\n`);
      if (flags.wait) process.exitCode = exitCodeOf(job);
    }));
}
