import { configFilePath, readConfigFile, type StoredLogin } from './config-file';

/** Where the server is and how to authenticate: flags win over the environment, which wins over `mpiaas login`'s file. */
export interface ClientConfig {
  url: string;
  token?: string;
}

export interface ClientFlags {
  url?: string;
  token?: string;
}

export const DEFAULT_SERVER_URL = 'http://localhost:3000';

/**
 * The server and key to use. The stored key (mpiaas login) is used only when neither --token
 * nor MPIAAS_TOKEN gives one, and only with the server it was stored for: a --url naming
 * another server must not receive it.
 */
export function clientConfig(
  flags: ClientFlags,
  env: NodeJS.ProcessEnv = process.env,
  stored: StoredLogin = readConfigFile(configFilePath(env)),
): ClientConfig {
  const url = flags.url ?? env.MPIAAS_URL ?? stored.url ?? DEFAULT_SERVER_URL;
  try {
    new URL(url);
  } catch {
    throw new Error(`server URL "${url}" is not a URL (from --url, MPIAAS_URL or ${configFilePath(env)})`);
  }
  const token = flags.token ?? env.MPIAAS_TOKEN ?? (stored.url === undefined || sameServer(stored.url, url) ? stored.token : undefined);
  return token ? { url, token } : { url };
}

function sameServer(a: string, b: string): boolean {
  const normal = (url: string) => {
    try {
      const parsed = new URL(url);
      return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
    } catch {
      return url;
    }
  };
  return normal(a) === normal(b);
}
