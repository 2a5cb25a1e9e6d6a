import { Command, InvalidArgumentError } from 'commander';
import type { LogItem, LogStreamName } from '@mpiaas/contracts';
import { followJob } from '../api/job-events';
import { RankOutputWriter } from '../output/rank-output-writer';
import { apiClientFor, withServerOptions } from './api-command';
import { wholeNumber } from './argument-parsers';

interface LogsFlags {
  rank?: number;
  stream?: LogStreamName;
  follow: boolean;
  tagOutput: boolean;
}

function streamName(value: string): LogStreamName {
  if (value !== 'stdout' && value !== 'stderr') throw new InvalidArgumentError('stream must be stdout or stderr');
  return value;
}

/** `mpiaas logs`: a job's output, stored or live. */
export function logsCommand(): Command {
  return withServerOptions(new Command('logs')
    .description('print a job’s output (all ranks, or one rank or stream)')
    .argument('<id>', 'job id')
    .option('-r, --rank <R>', 'only this rank', wholeNumber('rank', 0))
    .option('-s, --stream <stdout|stderr>', 'only this stream', streamName)
    .option('-f, --follow', 'keep printing until the job ends (survives dropped connections)', false)
    .option('--tag-output', 'prefix each line with [1,rank]<stream>:', false)
    .addHelpText('after', '\nExample:\n  $ mpiaas logs 3f1c… --rank 0\n  $ mpiaas logs 3f1c… --follow --stream stderr')
    .action(async (id: string, flags: LogsFlags, self: Command) => {
      const client = apiClientFor(self);
      const writer = new RankOutputWriter({ stdout: process.stdout, stderr: process.stderr }, flags.tagOutput);
      const wanted = (item: LogItem): boolean =>
        (flags.rank === undefined || item.rank === flags.rank) && (flags.stream === undefined || item.stream === flags.stream);
      const show = (item: LogItem): void => {
        if (wanted(item)) writer.write(item.rank, item.stream, Buffer.from(item.text));
      };
      if (flags.follow) {
        await followJob(client, id, { onLog: show }, new AbortController().signal);
      } else {
        let cursor: string | undefined;
        for (;;) {
          const page = await client.getLogs(id, {
            ...(flags.rank === undefined ? {} : { rank: flags.rank }),
            ...(flags.stream === undefined ? {} : { stream: flags.stream }),
            ...(cursor === undefined ? {} : { cursor }),
            limit: 1000,
          });
          page.items.forEach(show);
          if (page.items.length === 0) break;
          cursor = page.nextCursor;
        }
      }
      writer.flush();
    }));
}
