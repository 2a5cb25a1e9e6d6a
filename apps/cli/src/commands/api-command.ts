import type { Command } from 'commander';
import { ApiClient } from '../api/api-client';
import { clientConfig, type ClientFlags } from '../client-config';

/** The API client for a command, from the global --url/--token flags, the environment or mpiaas login's file. */
export function apiClientFor(command: Command): ApiClient {
  const flags = command.optsWithGlobals<ClientFlags>();
  const config = clientConfig(flags);
  return new ApiClient(config.token ? { baseUrl: config.url, token: config.token } : { baseUrl: config.url });
}

/** --url and --token on a subcommand too, so they may follow it (`mpiaas run … --url …`). */
export function withServerOptions(command: Command): Command {
  return command
    .option('--url <url>', 'server address (default: $MPIAAS_URL or http://localhost:3000)')
    .option('--token <token>', 'API token, sent as a bearer token (default: $MPIAAS_TOKEN, else the one stored by mpiaas login)');
}
