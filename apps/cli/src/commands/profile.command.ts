import { Command } from 'commander';
import { formatProfile } from '../output/profile-format';
import { apiClientFor, withServerOptions } from './api-command';

/** `mpiaas profile`: where a finished job's time went, per MPI op and per rank. */
export function profileCommand(): Command {
  return withServerOptions(new Command('profile')
    .description("print a finished job's MPI profile: per op calls, bytes, time and wait for the last rank; per rank the share of time in MPI")
    .argument('<id>', 'job id')
    .option('--json', 'print the profile as JSON', false)
    .addHelpText('after', '\nExample:\n  $ mpiaas profile 3f1c…')
    .action(async (id: string, flags: { json: boolean }, self: Command) => {
      const profile = await apiClientFor(self).getProfile(id);
      process.stdout.write(flags.json ? `${JSON.stringify(profile, null, 2)}\n` : `${formatProfile(profile)}\n`);
    }));
}
