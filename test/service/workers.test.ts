import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/mpiaas-exec';
import { rankProcessesOf } from '../support/rank-processes';
import { ServiceStack } from '../support/service-stack';

let stack: ServiceStack;
// A work folder of these workers' own: a worker of another test file starting meanwhile
// would clean up what a dead worker left in a shared one before this file looks at it.
const workDir = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-workers-test-'));

beforeAll(async () => {
  // Short queue locks so a dead worker's job is noticed within seconds, not half a minute.
  stack = await ServiceStack.start({
    workers: 2,
    workerEnv: { SLOTS: '2', QUEUE_LOCK_MS: '2000', QUEUE_STALLED_INTERVAL_MS: '1000', SHUTDOWN_GRACE_SECONDS: '10', WORK_DIR: workDir },
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function submit(script: string, np: number): Promise<string> {
  return ((await request(stack.url).post('/jobs').send({ script, np }).expect(201)).body as JobView).id;
}

async function waitFor(id: string, done: (job: JobView) => boolean, timeoutMs = 30_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job.status}\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const isFinal = (job: JobView): boolean => !['QUEUED', 'RUNNING'].includes(job.status);

describe('workers sharing the queue', () => {
  it('spreads jobs over both workers, each within its rank slots', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, () => submit('import time\nfrom mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\ntime.sleep(0.5)\n', 2)),
    );
    for (const id of ids) expect(await waitFor(id, isFinal)).toMatchObject({ status: 'SUCCEEDED' });
    // Ranks ran on both workers (whichever worker led each job).
    const ranks = await stack.harness.prisma.jobRank.findMany({ where: { jobId: { in: ids } }, select: { workerId: true } });
    expect(new Set(ranks.map((r) => r.workerId)).size).toBe(2);
  });

  it('runs a job again at once when its leader loses the queue lock mid-job (it lets go of it)', async () => {
    const id = await submit('import time\nprint("working", flush=True)\ntime.sleep(2)\nprint("done")\n', 1);
    await waitFor(id, (job) => job.status === 'RUNNING' && job.ranks.length === 1);
    // What a stalled event loop or a Redis failover does to the lock: gone before its renewal.
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.del(`${stack.harness.queuePrefix}:mpi-jobs:${id}:lock`)).toBe(1);
    } finally {
      redis.disconnect();
    }
    const final = await waitFor(id, isFinal, 20_000);
    expect(final, stack.logs()).toMatchObject({ status: 'SUCCEEDED' });
    const row = await stack.harness.prisma.job.findUniqueOrThrow({ where: { id } });
    expect(row.attempts).toBe(2);
    expect((await request(stack.url).get(`/jobs/${id}/ranks/0/stdout`).expect(200)).text).toBe('working\ndone\n');
  });

  it('restarts the job of a worker killed mid-job on the other worker', async () => {
    const id = await submit('import time\nprint("working", flush=True)\ntime.sleep(2)\nprint("done")\n', 1);
    const running = await waitFor(id, (job) => job.status === 'RUNNING' && job.ranks.length === 1);
    // The worker its rank runs on (which may not be the one leading the job).
    const workerId = running.ranks[0]?.worker;
    const victim = stack.processes.find((p) => p.name === workerId);
    expect(victim, `no process named ${workerId}`).toBeDefined();
    victim?.kill('SIGKILL');
    await victim?.exited;
    // Its ranks die with it (bubblewrap ends them with their launcher), at once.
    await expect.poll(() => rankProcessesOf(`${id}.1`), { timeout: 3000 }).toEqual([]);

    const final = await waitFor(id, isFinal, 40_000);
    expect(final, stack.logs()).toMatchObject({ status: 'SUCCEEDED' });
    const row = await stack.harness.prisma.job.findUniqueOrThrow({ where: { id } });
    expect(row.attempts).toBe(2);
    expect(row.workerId).not.toBe(workerId);
    const stdout = (await request(stack.url).get(`/jobs/${id}/ranks/0/stdout`).expect(200)).text;
    expect(stdout).toBe('working\ndone\n');
    // The job directory the killed worker left behind is removed when a worker next starts.
    const left = path.join(workDir, `w-${victim?.child.pid}`);
    expect(existsSync(left)).toBe(true);
    stack.startWorker();
    await expect.poll(() => existsSync(left), { timeout: 20_000 }).toBe(false);
  });

  it('lets a running job finish when its worker gets SIGTERM, then the worker exits', async () => {
    const id = await submit('import time\ntime.sleep(1)\nprint("finished")\n', 1);
    const running = await waitFor(id, (job) => job.status === 'RUNNING' && job.ranks.length === 1);
    // The worker its rank runs on (which may not be the one leading the job).
    const workerId = running.ranks[0]?.worker;
    const worker = stack.processes.find((p) => p.name === workerId);
    worker?.kill('SIGTERM');
    expect(await waitFor(id, isFinal)).toMatchObject({ status: 'SUCCEEDED' });
    // Nest re-raises SIGTERM once it has shut down cleanly, so "SIGTERM" is a clean end here.
    expect([0, 'SIGTERM']).toContain(await worker?.exited);
  });
});
