import { Command } from 'commander';
import { apiClientFor, withServerOptions } from './api-command';

/** `mpiaas cancel`: stop a queued or running job. */
export function cancelCommand(): Command {
  return withServerOptions(new Command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>', 'job id')
    .addHelpText('after', '\nExample:\n  $ mpiaas cancel 3f1c…')
    .action(async (id: string, _flags: object, self: Command) => {
      const job = await apiClientFor(self).cancelJob(id);
      const state = job.status === 'CANCELLED' ? 'cancelled' : 'cancel requested (its ranks are being stopped)';
      process.stdout.write(`job ${job.id}: ${state}\n`);
    }));
}
