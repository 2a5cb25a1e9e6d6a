/** Where the server is and how to authenticate: flags win over the environment. */
export interface ClientConfig {
  url: string;
  token?: string;
}

export interface ClientFlags {
  url?: string;
  token?: string;
}

export const DEFAULT_SERVER_URL = 'http://localhost:3000';

export function clientConfig(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const url = flags.url ?? env.MPIAAS_URL ?? DEFAULT_SERVER_URL;
  const token = flags.token ?? env.MPIAAS_TOKEN;
  try {
    new URL(url);
  } catch {
    throw new Error(`server URL "${url}" is not a URL (from --url or MPIAAS_URL)`);
  }
  return token ? { url, token } : { url };
}
