import type { Redis } from 'ioredis';

/**
 * Rank traffic lives in Redis lists until it is read: a Redis that evicts keys under memory
 * pressure would silently drop messages. Returns a warning when the policy is not
 * `noeviction`, or undefined when it is (or when CONFIG is disabled, as on some managed
 * services, and the policy cannot be read).
 */
export async function evictionPolicyWarning(redis: Redis): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    return undefined;
  }
  if (policy === undefined || policy === 'noeviction') return undefined;
  return `Redis maxmemory-policy is '${policy}': under memory pressure it may evict rank messages; set it to 'noeviction'`;
}
