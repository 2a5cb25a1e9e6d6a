// An agent whose peers never come: the job fails within the rendezvous bound, naming them,
// starts no rank, and leaves nothing in Redis that does not expire. (Real Redis; no rank is
// ever started.)
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { runAgentShare } from './agent-share';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
afterAll(() => redis.disconnect());

describe('the start rendezvous of a job spread over agents', () => {
  it('fails the job after the bounded wait, naming the agents that never arrived', async () => {
    const keyPrefix = `test:share:${randomBytes(4).toString('hex')}:`;
    const started = Date.now();
    const share = await runAgentShare({
      jobId: 'job.1',
      agent: 0,
      placement: [0, 1, 2],
      agentNames: ['w0', 'w1', 'w2'],
      script: 'never-started.py',
      python: '/usr/bin/python3',
      cwd: '/',
      redisUrl: REDIS_URL,
      keyPrefix,
      rendezvousTimeoutMs: 1000,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(share.verdict).toMatchObject({
      status: 'FAILED',
      reason: 'rendezvous: w1, w2 never arrived within 1s',
      infrastructure: true,
      origin: 'local',
    });
    expect(share.ranks).toEqual([{ rank: 0, exitCode: null, signal: null, startedAt: expect.any(Date), finishedAt: undefined }]);
    // The others never leave, so deleting the keys is the caller's (the service's leader does);
    // whatever is left expires on its own.
    const left = await redis.keys(`${keyPrefix}*`);
    for (const key of left) expect(await redis.pttl(key), key).toBeGreaterThan(0);
    if (left.length > 0) await redis.del(...left);
  });
});
