import type tls from 'node:tls';
import { Redis } from 'ioredis';

/** Where a redis:// or rediss:// URL points. */
export interface RedisTarget {
  host?: string;
  port?: number;
  /** A Unix socket's path, instead of host and port. */
  path?: string;
  /** TLS options (rediss:// or a `tls` query): absent for plain TCP. */
  tls?: tls.ConnectionOptions;
  username?: string;
  password?: string;
  db: number;
}

/**
 * The target of `url` exactly as ioredis reads it (the agent's other connections use
 * ioredis): query options such as `?db=2`, a lenient database number, TLS profiles, defaults.
 */
export function redisTarget(url: string): RedisTarget {
  const client = new Redis(url, { lazyConnect: true });
  const { host, port, path, tls: tlsOptions, username, password, db } = client.options;
  client.disconnect();
  return {
    ...(path ? { path } : { host, port }),
    ...(tlsOptions ? { tls: tlsOptions } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    db: db ?? 0,
  };
}
