import type { Redis } from 'ioredis';
import type { JobKeys } from '../redis/job-keys';

/**
 * Removes every key of the job, whatever state it ended in. A job of one agent, or one that
 * ended cleanly (`clean`: every rank finished, so no collective between agents is half-done
 * and every stored payload was read), has only keys named in advance: one UNLINK. Otherwise
 * (or when the agents are not known) a SCAN finds what collectives and payloads between
 * agents left: it walks the whole keyspace, so it is kept off the path of jobs that end well.
 */
export async function deleteJobKeys(redis: Redis, keys: JobKeys, known?: { agents: number; clean?: boolean }): Promise<void> {
  if (known && (known.agents === 1 || known.clean)) {
    await redis.unlink(...keys.fixed(known.agents));
    return;
  }
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern(), 'COUNT', 1000);
    if (found.length > 0) await redis.unlink(...found);
    cursor = next;
  } while (cursor !== '0');
}
