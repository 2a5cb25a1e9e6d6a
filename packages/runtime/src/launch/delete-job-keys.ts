import type { Redis } from 'ioredis';
import type { JobKeys } from '../redis/job-keys';

/**
 * Removes every key of the job, whatever state it ended in. A job of one agent has only
 * keys named in advance: one UNLINK. With several agents (or when the count is not known)
 * a SCAN finds what collectives and payloads between agents left: it walks the whole
 * keyspace, so it is kept off the path of the many small jobs.
 */
export async function deleteJobKeys(redis: Redis, keys: JobKeys, agentCount?: number): Promise<void> {
  if (agentCount === 1) {
    await redis.unlink(...keys.fixed(1));
    return;
  }
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern(), 'COUNT', 1000);
    if (found.length > 0) await redis.unlink(...found);
    cursor = next;
  } while (cursor !== '0');
}
