import type { Redis } from 'ioredis';
import type { JobKeys } from '../redis/job-keys';

/** Most keys named in one UNLINK (a job that ended half-way may leave many chunks). */
const UNLINK_BATCH = 1000;

/**
 * Removes every key of a job of `agents` agents, whatever state it ended in, once nobody
 * writes them any more: the keys named in advance, and those its loose set lists (the
 * collectives between agents still waiting for bundles, the large envelopes not yet read by
 * all their readers). Two round trips whatever the size of the keyspace: nothing is scanned.
 */
export async function deleteJobKeys(redis: Redis, keys: JobKeys, agents: number): Promise<void> {
  const loose = await redis.smembers(keys.loose());
  const all = [...loose, ...keys.fixed(agents)];
  const unlinks: Promise<number>[] = [];
  for (let start = 0; start < all.length; start += UNLINK_BATCH) unlinks.push(redis.unlink(...all.slice(start, start + UNLINK_BATCH)));
  await Promise.all(unlinks);
}
