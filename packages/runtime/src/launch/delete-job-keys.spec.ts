// Cleanup of a job's keys on real Redis: one UNLINK for a job of one agent or one that ended
// cleanly (no SCAN), a SCAN for what collectives and payloads between agents leave.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { JobKeys } from '../redis/job-keys';
import { deleteJobKeys } from './delete-job-keys';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
afterAll(() => redis.disconnect());

async function keysOf(keys: JobKeys): Promise<string[]> {
  return (await redis.keys(keys.pattern())).sort();
}

/** The connection, noting each SCAN and UNLINK sent through it. */
function watchCleanup(): { watched: Redis; sent: string[] } {
  const sent: string[] = [];
  const watched = new Proxy(redis, {
    get: (target, name, receiver) => {
      if (typeof name === 'string' && ['scan', 'unlink'].includes(name)) sent.push(name);
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  return { watched, sent };
}

describe('deleteJobKeys', () => {
  it('removes every key a job of one agent has with one UNLINK, and sends no SCAN', async () => {
    const keys = new JobKeys(`test:keys:${randomBytes(4).toString('hex')}:`, 'job.1');
    for (const key of keys.fixed(1)) await redis.set(key, '1', 'PX', 60_000);
    expect(await keysOf(keys)).toHaveLength(7);
    const { watched, sent } = watchCleanup();
    await deleteJobKeys(watched, keys, { agents: 1 });
    expect(sent).toEqual(['unlink']);
    expect(await keysOf(keys)).toEqual([]);
  });

  it('finds the keys named as they come (collectives, payloads) when the job had several agents', async () => {
    const keys = new JobKeys(`test:keys:${randomBytes(4).toString('hex')}:`, 'job.1');
    await redis.set(keys.payload(1, 7), 'x', 'PX', 60_000);
    await redis.hset(keys.collective('w', 3), '0', 'x');
    await redis.set(keys.alive(1), '1', 'PX', 60_000);
    await deleteJobKeys(redis, keys, { agents: 2 });
    expect(await keysOf(keys)).toEqual([]);
  });

  it('removes the keys of a job of several agents that ended cleanly with one UNLINK', async () => {
    const keys = new JobKeys(`test:keys:${randomBytes(4).toString('hex')}:`, 'job.1');
    for (const key of keys.fixed(3)) await redis.set(key, '1', 'PX', 60_000);
    const { watched, sent } = watchCleanup();
    await deleteJobKeys(watched, keys, { agents: 3, clean: true });
    expect(sent).toEqual(['unlink']);
    expect(await keysOf(keys)).toEqual([]);
  });
});
