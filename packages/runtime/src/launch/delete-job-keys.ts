import type { Redis } from 'ioredis';
import type { JobKeys } from '../redis/job-keys';

/** Removes every key of the job, whatever state the job ended in. */
export async function deleteJobKeys(redis: Redis, keys: JobKeys): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern(), 'COUNT', 1000);
    if (found.length > 0) await redis.unlink(...found);
    cursor = next;
  } while (cursor !== '0');
}
