import { Command } from 'commander';
import { ApiClient } from '../api/api-client';
import { DEFAULT_SERVER_URL } from '../client-config';
import { configFilePath, writeConfigFile } from '../config-file';

/**
 * `mpiaas login --url URL --token KEY`: checks the key against the server (GET /usage) and
 * stores both in the config file (mode 0600), which every later command reads when neither
 * --token nor MPIAAS_TOKEN is given.
 */
export function loginCommand(): Command {
  return new Command('login')
    .description('store a server address and API key for later commands (in $XDG_CONFIG_HOME/mpiaas/config.json, mode 0600)')
    .option('--url <url>', 'server address (default: $MPIAAS_URL or http://localhost:3000)')
    .option('--token <token>', 'the API key (default: $MPIAAS_TOKEN)')
    .option('--no-verify', 'store without asking the server whether the key works')
    .addHelpText('after', '\nExample:\n  $ mpiaas login --url https://mpi.example.org --token mpk_…')
    .action(async (flags: { url?: string; token?: string; verify: boolean }, self: Command) => {
      const globals = self.optsWithGlobals<{ url?: string; token?: string }>();
      const url = flags.url ?? globals.url ?? process.env.MPIAAS_URL ?? DEFAULT_SERVER_URL;
      const token = flags.token ?? globals.token ?? process.env.MPIAAS_TOKEN;
      if (!token) throw new Error('login needs a key: --token KEY (or MPIAAS_TOKEN)');
      try {
        new URL(url);
      } catch {
        throw new Error(`server URL "${url}" is not a URL`);
      }
      let tenant = '';
      if (flags.verify) {
        // A 401 here means the key is wrong: better said now than at the next run.
        const usage = await new ApiClient({ baseUrl: url, token }).getUsage();
        tenant = ` (tenant ${usage.tenantId})`;
      }
      const file = configFilePath();
      writeConfigFile(file, { url, token });
      process.stderr.write(`mpiaas: logged in to ${url}${tenant}; stored in ${file}\n`);
    });
}
