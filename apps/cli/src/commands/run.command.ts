import { Command } from 'commander';
import yoctoSpinner from 'yocto-spinner';
import { followJob } from '../api/job-events';
import { exitCodeOf, finalStatusLine } from '../output/job-format';
import { RankOutputWriter } from '../output/rank-output-writer';
import { apiClientFor, withServerOptions } from './api-command';
import { addJobRequestOptions, buildJobRequest, type JobRequestFlags } from './job-request-options';

interface RunFlags extends JobRequestFlags {
  detach: boolean;
  tagOutput: boolean;
}

/** `mpiaas run`: submit, show the output live, exit with the job's code. */
export function runCommand(): Command {
  const command = new Command('run').description('run a job on the server, streaming every rank’s output live');
  withServerOptions(addJobRequestOptions(command))
    .option('-d, --detach', 'submit and print the job id without waiting', false)
    .option('--tag-output', 'prefix each line with [1,rank]<stream>: as mpirun does', false)
    .addHelpText(
      'after',
      '\nCtrl-C cancels the job. The exit status is the job’s (0, the failing rank’s code, 124 on timeout).\n\nExample:\n  $ mpiaas run -n 4 examples/pi.py\n  $ mpiaas run -n 2 --timeout 60 --label team=hpc --env OMP_NUM_THREADS=1 job.py -- --steps 10',
    )
    .action(async (script: string, args: string[], flags: RunFlags, self: Command) => {
      const client = apiClientFor(self);
      const job = await client.createJob(await buildJobRequest(script, args, flags));
      if (flags.detach) {
        process.stdout.write(`${job.id}\n`);
        return;
      }
      const spinner = process.stderr.isTTY ? yoctoSpinner({ text: `job ${job.id} queued`, stream: process.stderr }).start() : undefined;
      const writer = new RankOutputWriter({ stdout: process.stdout, stderr: process.stderr }, flags.tagOutput);
      const stop = new AbortController();
      let interrupts = 0;
      process.on('SIGINT', () => {
        if (++interrupts > 1) process.exit(130);
        spinner?.stop();
        process.stderr.write(`mpiaas: cancelling job ${job.id} (Ctrl-C again to stop waiting)\n`);
        client.cancelJob(job.id).catch((error: Error) => process.stderr.write(`mpiaas: cancel failed: ${error.message}\n`));
      });

      await followJob(
        client,
        job.id,
        {
          onStatus: (status, reason) => {
            if (status !== 'QUEUED') spinner?.stop();
            // A RUNNING with a reason is a restart (its worker was lost): what follows is
            // the new attempt's output, from its start.
            if (status === 'RUNNING' && reason) {
              writer.flush();
              process.stderr.write(`mpiaas: job restarted: ${reason}\n`);
            }
          },
          onLog: (item) => writer.write(item.rank, item.stream, Buffer.from(item.text)),
          onReconnect: (attempt, error) => {
            if (attempt === 1) process.stderr.write(`mpiaas: lost the event stream (${(error as Error).message}); resuming\n`);
          },
        },
        stop.signal,
      );
      spinner?.stop();
      writer.flush();
      const final = await client.getJob(job.id);
      process.stderr.write(`mpiaas: ${finalStatusLine(final)}\n`);
      process.exitCode = exitCodeOf(final);
    });
  return command;
}
