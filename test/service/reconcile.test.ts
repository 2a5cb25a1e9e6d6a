// Nothing lost between Postgres and Redis (issue 10, item 4): the api and two workers as
// deployed, Redis losing the queue's data with jobs waiting, and an api that died between its
// insert and its enqueue. Every job must end SUCCEEDED through HTTP, and run exactly once.
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { JobStatus } from '@mpiaas/db';
import { REDIS_URL } from '../support/mpiaas-exec';
import { ServiceStack } from '../support/service-stack';

/** Short enough for a quick test; the default (10 s, so 20 s) is checked in reconciler.spec.ts. */
const INTERVAL_MS = 1000;
/** The bound. */
const RECOVERY_BOUND_MS = 30_000;

let stack: ServiceStack;
let redis: Redis;

beforeAll(async () => {
  stack = await ServiceStack.start({
    workers: 2,
    workerEnv: { SLOTS: '2', LOG_FLUSH_MS: '50', RECONCILE_INTERVAL_MS: String(INTERVAL_MS), RECONCILE_STALE_RUNNING_MS: '5000' },
  });
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

async function submit(body: object): Promise<JobView> {
  return (await request(stack.url).post('/jobs').send(body).expect(201)).body as JobView;
}

async function view(id: string): Promise<JobView> {
  return (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
}

async function waitFor(id: string, done: (job: JobView) => boolean, timeoutMs: number): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await view(id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const isFinal = (job: JobView): boolean => !['QUEUED', 'RUNNING'].includes(job.status);

/** Statuses of the job's transitions, in order: each RUNNING is one run. */
async function transitions(id: string): Promise<string[]> {
  const rows = await stack.harness.prisma.jobTransition.findMany({ where: { jobId: id }, orderBy: { id: 'asc' } });
  return rows.map((row) => row.status);
}

/** What Redis losing its data does to this stack: every key of its queue and scheduler gone. */
async function loseQueueData(): Promise<number> {
  const keys = await redis.keys(`${stack.harness.queuePrefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  return keys.length;
}

/** A job recorded exactly as POST /jobs records it (the row and its QUEUED transition), never enqueued. */
async function insertWithoutEnqueue(script: string): Promise<string> {
  const job = await stack.harness.prisma.job.create({
    data: { script, np: 2, timeoutSeconds: 60, transitions: { create: [{ status: JobStatus.QUEUED }] } },
  });
  return job.id;
}

describe('the reconciler: nothing lost between Postgres and Redis', () => {
  it('runs jobs that were waiting when Redis lost the queue, each once, within the bound', async () => {
    // The blocker takes all 4 slots of the two workers, so the others wait in the queue.
    const blocker = await submit({ script: 'import time\ntime.sleep(3)\nprint("blocker done")\n', np: 4 });
    await waitFor(blocker.id, (job) => job.status === 'RUNNING', 20_000);
    const waiting = await Promise.all(
      [0, 1, 2].map((n) => submit({ script: `from mpi4py import MPI\nprint("waiter ${n} rank", MPI.COMM_WORLD.rank)\n`, np: 2 })),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const job of waiting) expect((await view(job.id)).status).toBe('QUEUED');
    for (const job of waiting) expect(await stack.harness.queue.getJobState(job.id)).not.toBe('unknown');

    const lostAt = Date.now();
    expect(await loseQueueData()).toBeGreaterThan(0);
    for (const job of waiting) expect(await stack.harness.queue.getJobState(job.id)).toBe('unknown');

    for (const job of waiting) {
      const final = await waitFor(job.id, isFinal, RECOVERY_BOUND_MS);
      expect(final, stack.logs()).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 });
      expect(await transitions(job.id)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    }
    expect(Date.now() - lostAt).toBeLessThan(RECOVERY_BOUND_MS);
    for (const [n, job] of waiting.entries()) {
      const out = await request(stack.url).get(`/jobs/${job.id}/ranks/1/stdout`).expect(200);
      expect(out.text).toBe(`waiter ${n} rank 1\n`);
    }
    // The blocker lost its queue entry (and lock) mid-run: it ends SUCCEEDED, in this attempt
    // or, if its leader stopped it first, in one retry — never left RUNNING.
    const blocked = await waitFor(blocker.id, isFinal, RECOVERY_BOUND_MS);
    expect(blocked.status).toBe('SUCCEEDED');
    expect((await transitions(blocker.id)).filter((s) => s === 'RUNNING').length).toBeLessThanOrEqual(2);
  });

  it('enqueues a job the api recorded but died before enqueueing', async () => {
    const id = await insertWithoutEnqueue('from mpi4py import MPI\nprint("recovered", MPI.COMM_WORLD.rank)\n');
    expect(await stack.harness.queue.getJobState(id)).toBe('unknown');
    const final = await waitFor(id, isFinal, RECOVERY_BOUND_MS);
    expect(final).toMatchObject({ status: 'SUCCEEDED', exitCode: 0 });
    expect((await request(stack.url).get(`/jobs/${id}/ranks/0/stdout`).expect(200)).text).toBe('recovered 0\n');
    expect(await transitions(id)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
  });

  it('never runs a job twice: late enqueues, evicted entries and repeated passes change nothing', async () => {
    const ids = await Promise.all([0, 1, 2, 3].map(() => insertWithoutEnqueue('print("once")\n')));
    // The api coming back to enqueue them too, racing both workers' reconcilers.
    await Promise.all(ids.map((id) => stack.harness.queue.add('run', { jobId: id }, { jobId: id })));
    for (const id of ids) expect((await waitFor(id, isFinal, RECOVERY_BOUND_MS)).status).toBe('SUCCEEDED');

    // A completed entry evicted (removeOnComplete), then an enqueue of the same id: the worker
    // finds the job ended in Postgres and does not run it.
    const [first] = ids as [string];
    await stack.harness.queue.remove(first);
    await stack.harness.queue.add('run', { jobId: first }, { jobId: first });
    await expect.poll(() => stack.harness.queue.getJobState(first), { timeout: 10_000 }).toBe('completed');

    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS)); // several reconcile passes
    for (const id of ids) {
      expect(await transitions(id)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
      expect((await stack.harness.prisma.job.findUniqueOrThrow({ where: { id } })).attempts).toBe(1);
    }
  });
});
