import { Command, InvalidArgumentError } from 'commander';
import Table from 'cli-table3';
import { JOB_STATUSES, type JobStatus, type JobView } from '@mpiaas/contracts';
import { apiClientFor, withServerOptions } from './api-command';
import { wholeNumber } from './argument-parsers';

function status(value: string): JobStatus {
  const upper = value.toUpperCase();
  if (!(JOB_STATUSES as readonly string[]).includes(upper)) {
    throw new InvalidArgumentError(`status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  return upper as JobStatus;
}

function duration(job: JobView): string {
  if (!job.startedAt) return '-';
  const end = job.finishedAt ? Date.parse(job.finishedAt) : Date.now();
  return `${((end - Date.parse(job.startedAt)) / 1000).toFixed(1)}s`;
}

/** `mpiaas list`: recent jobs, newest first. */
export function listCommand(): Command {
  return withServerOptions(new Command('list')
    .description('list recent jobs, newest first')
    .option('--status <status>', 'only jobs with this status', status)
    .option('--limit <N>', 'how many (1..100)', wholeNumber('limit', 1, 100), 20)
    .option('--json', 'print the page as JSON', false)
    .addHelpText('after', '\nExample:\n  $ mpiaas list --status failed --limit 5')
    .action(async (flags: { status?: JobStatus; limit: number; json: boolean }, self: Command) => {
      const page = await apiClientFor(self).listJobs({ limit: flags.limit, ...(flags.status ? { status: flags.status } : {}) });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
        return;
      }
      const table = new Table({ head: ['ID', 'NAME', 'STATUS', 'NP', 'EXIT', 'CREATED', 'TIME'], style: { head: [], border: [] } });
      for (const job of page.items) {
        table.push([job.id, job.name ?? '', job.status, job.np, job.exitCode ?? '', job.createdAt, duration(job)]);
      }
      process.stdout.write(`${table.toString()}\n`);
    }));
}
