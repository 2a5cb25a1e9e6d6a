// The placement script on a real Redis, with a private key prefix: several schedulers play
// the workers of one cluster.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../config/worker-config';
import { GangScheduler, type PlacementRequest } from './gang-scheduler';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
let prefix: string;
let schedulers: GangScheduler[] = [];
let submitted = 0;

function worker(id: string, timeoutMs = 5000): GangScheduler {
  const config = { QUEUE_PREFIX: prefix, REDIS_URL, WORKER_ID: id, WORKER_TIMEOUT_MS: timeoutMs } as WorkerConfig;
  const scheduler = new GangScheduler(config);
  schedulers.push(scheduler);
  return scheduler;
}

async function cluster(slots: Record<string, number>): Promise<Record<string, GangScheduler>> {
  const byId: Record<string, GangScheduler> = {};
  for (const [id, count] of Object.entries(slots)) {
    byId[id] = worker(id);
    await byId[id].heartbeat(count);
  }
  return byId;
}

function job(np: number, extra: Partial<PlacementRequest> = {}): PlacementRequest {
  submitted += 1;
  return {
    jobId: `job-${submitted}`,
    np,
    timeoutMs: 60_000,
    order: submitted,
    policy: 'pack',
    oversubscribe: false,
    ...extra,
  };
}

beforeEach(() => {
  prefix = `test-sched-${randomBytes(4).toString('hex')}`;
});

afterEach(async () => {
  await Promise.all(schedulers.map((scheduler) => scheduler.onApplicationShutdown()));
  schedulers = [];
  const found = await redis.keys(`${prefix}:*`);
  if (found.length > 0) await redis.del(...found);
});

afterAll(() => redis.disconnect());

describe('gang placement', () => {
  it('places a job only on workers speaking its leader’s agent protocol, and says so when it must wait for them (a rolling upgrade)', async () => {
    const { a } = await cluster({ a: 2, b: 2, c: 4 });
    // c runs an older version: its heartbeats name no protocol (or another one).
    await redis.hdel(`${prefix}:{sched}:versions`, 'c');
    // What it leads stays counted (and is not dropped) though no job of ours may use its slots.
    const olderEntry = JSON.stringify({ l: 'c', e: Date.now() + 60_000, a: [['c', 1]], tn: '', r: 1 });
    await redis.hset(`${prefix}:{sched}:running`, 'older-job', olderEntry);
    const four = job(4);
    const placed = await a!.place(four);
    expect(placed).toMatchObject({ placed: true });
    expect(placed.placed && placed.slots.map((part) => part.worker).sort()).toEqual(['a', 'b']);
    const six = await a!.place(job(6, { oversubscribe: false }));
    expect(six).toMatchObject({ placed: false });
    expect(!six.placed && !six.gone && six.pending.reason).toBe(
      'needs 6 slots; all live workers together have 4 (set oversubscribe to run anyway) (4 more slots are on workers of another version, an upgrade under way)',
    );
    expect(await redis.hget(`${prefix}:{sched}:running`, 'older-job')).toBe(olderEntry);
    await a!.release(four.jobId);
  });

  it('writes again the running entries Redis lost at the next heartbeat, so their slots are not given twice; none once released', async () => {
    const { a } = await cluster({ a: 4 });
    const first = job(3);
    expect(await a!.place(first)).toMatchObject({ placed: true });
    await redis.del(`${prefix}:{sched}:running`);
    expect(await a!.heartbeat(4)).toBe(1);
    const entry = JSON.parse((await redis.hget(`${prefix}:{sched}:running`, first.jobId)) ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ l: 'a', a: [['a', 3]], r: 3 });
    expect(Number(entry.e) - Date.now()).toBeGreaterThan(50_000);
    expect(await a!.place(job(2))).toMatchObject({ placed: false });
    expect(await a!.heartbeat(4)).toBe(0);
    await a!.release(first.jobId);
    expect(await a!.heartbeat(4)).toBe(0);
    expect(await redis.hexists(`${prefix}:{sched}:running`, first.jobId)).toBe(0);
    expect(await a!.place(job(2))).toMatchObject({ placed: true });
  });

  it('gives an exclusive worker (a ranks container) one job at a time, whatever slots it has left', async () => {
    const a = worker('a');
    await a.heartbeat(4, true);
    const first = job(1);
    expect(await a.place(first)).toEqual({ placed: true, slots: [{ worker: 'a', slots: 1 }] });
    expect(await a.place(job(1))).toMatchObject({ placed: false });
    await a.release(first.jobId);
    expect(await a.place(job(3))).toEqual({ placed: true, slots: [{ worker: 'a', slots: 3 }] });
  });

  it('spreads a job over exclusive workers only where they are idle', async () => {
    const a = worker('a');
    const b = worker('b');
    await a.heartbeat(2, true);
    await b.heartbeat(2, true);
    expect(await a.place(job(1))).toMatchObject({ placed: true });
    expect(await a.place(job(2))).toEqual({ placed: true, slots: [{ worker: expect.any(String) as string, slots: 2 }] });
    expect(await a.place(job(1))).toMatchObject({ placed: false });
  });

  it('packs a job on one worker when one fits it, the fullest that does', async () => {
    const { a } = await cluster({ a: 4, b: 2, c: 8 });
    expect(await a!.place(job(2))).toEqual({ placed: true, slots: [{ worker: 'b', slots: 2 }] });
    expect(await a!.place(job(3))).toEqual({ placed: true, slots: [{ worker: 'a', slots: 3 }] });
  });

  it('packs a job larger than any worker on the fewest workers', async () => {
    const { a } = await cluster({ a: 2, b: 4, c: 3 });
    const placed = await a!.place(job(7));
    expect(placed).toEqual({ placed: true, slots: [{ worker: 'b', slots: 4 }, { worker: 'c', slots: 3 }] });
  });

  it('spreads a job over every worker when asked', async () => {
    const { a } = await cluster({ a: 2, b: 2, c: 2 });
    const placed = await a!.place(job(6, { policy: 'spread' }));
    expect(placed.placed && placed.slots.map((part) => part.slots)).toEqual([2, 2, 2]);
    const small = await a!.place(job(1));
    expect(small.placed).toBe(false);
  });

  it('reserves all or nothing, and the slots come back on release', async () => {
    const { a } = await cluster({ a: 2, b: 2 });
    const first = job(3);
    expect((await a!.place(first)).placed).toBe(true);
    const second = job(2);
    expect(await a!.place(second)).toMatchObject({
      placed: false,
      pending: { reason: 'waiting for 2 free slots; 1 free now', slotsNeeded: 2, slotsFree: 1 },
    });
    expect(await redis.hexists(`${prefix}:{sched}:running`, second.jobId)).toBe(0);
    await a!.release(first.jobId);
    expect((await a!.place(second)).placed).toBe(true);
  });

  it('makes a job larger than the cluster wait, unless it may oversubscribe', async () => {
    const { a } = await cluster({ a: 2, b: 2 });
    expect(await a!.place(job(5))).toMatchObject({
      placed: false,
      pending: { reason: 'needs 5 slots; all live workers together have 4 (set oversubscribe to run anyway)', slotsNeeded: 5 },
    });
    const over = await a!.place(job(5, { oversubscribe: true }));
    expect(over.placed && over.slots.reduce((sum, part) => sum + part.slots, 0)).toBe(4);
  });

  it('serves the line in order: a later job may not take slots the head of the line needs', async () => {
    const { a } = await cluster({ a: 4 });
    const running = job(3);
    await a!.place(running);
    const head = job(4);
    expect((await a!.place(head)).placed).toBe(false);
    // Would fit in the free slot, but ends after the head's reservation (same time limit).
    const later = job(1, { timeoutMs: 120_000 });
    expect(await a!.place(later)).toMatchObject({ placed: false, pending: { reason: `waiting behind job ${head.jobId} (first come, first served)` } });
    await a!.release(running.jobId);
    expect((await a!.place(later)).placed).toBe(false);
    expect((await a!.place(head)).placed).toBe(true);
  });

  it('backfills a job that ends before the head could start', async () => {
    const { a } = await cluster({ a: 4 });
    await a!.place(job(3, { timeoutMs: 60_000 }));
    const head = job(4);
    expect((await a!.place(head)).placed).toBe(false);
    expect((await a!.place(job(1, { timeoutMs: 10_000 }))).placed).toBe(true);
  });

  it('takes the slots of a worker that stopped heartbeating, and frees what its jobs held', async () => {
    const a = worker('a', 300);
    const b = worker('b', 300);
    await a.heartbeat(2);
    await b.heartbeat(2);
    const led = job(2);
    const placed = await b.place(led);
    expect(placed.placed).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await a.heartbeat(2); // a lives on, b went silent
    expect(await a.place(job(3))).toMatchObject({ placed: false, pending: { slotsFree: 2 } });
    expect(await redis.hexists(`${prefix}:{sched}:running`, led.jobId)).toBe(0);
    expect(await a.isLive('b')).toBe(false);
    expect(await a.isLive('a')).toBe(true);
  });

  it('forgets jobs nobody asks about any more, so they do not block the line', async () => {
    const { a } = await cluster({ a: 2 });
    const head = job(2);
    await a!.place(job(2));
    await a!.place(head);
    await a!.forget(head.jobId);
    expect(await redis.zscore(`${prefix}:{sched}:pending`, head.jobId)).toBeNull();
    expect(await redis.hget(`${prefix}:{sched}:why`, head.jobId)).toBeNull();
  });

  it('never places a job forgotten for good, as a worker that read it before would ask', async () => {
    const { a } = await cluster({ a: 2 });
    const big = job(3);
    expect(await a!.place(big)).toMatchObject({ placed: false });
    await a!.forget(big.jobId);
    expect(await a!.place(big)).toEqual({ placed: false, gone: true });
    expect(await redis.zscore(`${prefix}:{sched}:pending`, big.jobId)).toBeNull();
    const small = job(1);
    await a!.forget(small.jobId);
    expect(await a!.place(small)).toEqual({ placed: false, gone: true });
    expect(await redis.hlen(`${prefix}:{sched}:running`)).toBe(0);
  });
});

describe('tenants’ running-ranks quota', () => {
  const tenantA = { tenantId: 'tenant-a', maxRunningRanks: 3 };
  const tenantB = { tenantId: 'tenant-b', maxRunningRanks: 8 };

  it('makes a job past its tenant’s quota wait, naming it, and places it once ranks end', async () => {
    const { a } = await cluster({ a: 8 });
    const first = job(2, { tenant: tenantA });
    expect((await a!.place(first)).placed).toBe(true);
    const second = job(2, { tenant: tenantA });
    expect(await a!.place(second)).toMatchObject({
      placed: false,
      pending: { reason: 'its tenant runs 2 of its 3 ranks (maxRunningRanks); waiting for some to end', slotsFree: 6 },
    });
    // A job that fits the quota still starts.
    expect((await a!.place(job(1, { tenant: tenantA }))).placed).toBe(true);
    await a!.release(first.jobId);
    expect((await a!.place(second)).placed).toBe(true);
  });

  it('does not let a tenant at its quota hold back another tenant’s jobs at the head of the line', async () => {
    const { a } = await cluster({ a: 4 });
    expect((await a!.place(job(3, { tenant: tenantA }))).placed).toBe(true);
    const blocked = job(1, { tenant: tenantA });
    expect((await a!.place(blocked)).placed).toBe(false);
    // Were it the head of the line, `blocked` would take the one free slot first.
    const other = job(1, { tenant: tenantB });
    expect((await a!.place(other)).placed).toBe(true);
  });

  it('counts no quota for a job without a tenant (0: no limit)', async () => {
    const { a } = await cluster({ a: 8 });
    expect((await a!.place(job(4, { tenant: { tenantId: 't', maxRunningRanks: 0 } }))).placed).toBe(true);
    expect((await a!.place(job(4, { tenant: { tenantId: 't', maxRunningRanks: 0 } }))).placed).toBe(true);
  });
});
