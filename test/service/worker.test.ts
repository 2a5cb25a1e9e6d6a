import { existsSync } from 'node:fs';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MpiJobName, SchedulerKeys } from '@mpiaas/contracts';
import { JobStatus } from '@mpiaas/db';
import { AGENT_PROTOCOL_VERSION } from '@mpiaas/runtime';
import { JobOutputs } from '../../apps/worker/src/outputs/job-outputs';
import { GangScheduler } from '../../apps/worker/src/placement/gang-scheduler';
import { loadWorkerConfig, WORKER_CONFIG, type WorkerConfig } from '../../apps/worker/src/config/worker-config';
import { Reconciler } from '../../apps/worker/src/reconcile/reconciler.service';
import { RankSandbox } from '../../apps/worker/src/runs/rank-sandbox';
import { createWorker } from '../../apps/worker/src/worker-app';
import { Redis } from 'ioredis';
import { keysUnder, REDIS_URL } from '../support/mpiaas-exec';
import { processesWhoseCommandHas, rankProcessesOf } from '../support/rank-processes';
import type { RankZygote } from '../../apps/worker/src/runs/warm-pool/rank-zygote';
import { RANK_ZYGOTE } from '../../apps/worker/src/runs/warm-pool/rank-zygote.provider';
import { ServiceHarness } from '../support/service-harness';

const LOG_CAP = 64 * 1024;
const AGENT_BYTES = 64 * 1024 ** 2;
let harness: ServiceHarness;
let worker: INestApplicationContext;

beforeAll(async () => {
  harness = await ServiceHarness.start();
  const config = loadWorkerConfig({
    ...process.env,
    ...harness.env({
      SLOTS: '8',
      LOG_FLUSH_MS: '50',
      LOG_CAP_BYTES: String(LOG_CAP),
      RANK_MEMORY_BYTES: String(1024 ** 3),
      JOB_AGENT_BYTES: String(AGENT_BYTES),
    }),
  });
  worker = await createWorker(config, false);
});

afterAll(async () => {
  await worker?.close();
  await harness?.stop();
});

describe('worker: runs queued jobs on the ranked runtime', () => {
  it('runs the tutorial hello at np 4 and stores every rank’s output', async () => {
    const id = await harness.submit(
      'from mpi4py import MPI\ncomm = MPI.COMM_WORLD\nprint(f"Hello! I\'m rank {comm.rank} from {comm.size}")\ncomm.Barrier()\n',
      4,
    );
    const job = await harness.waitForStatus(id);
    expect(job).toMatchObject({ status: JobStatus.SUCCEEDED, exitCode: 0, reason: null, attempts: 1 });
    const ranks = await harness.prisma.jobRank.findMany({ where: { jobId: id }, orderBy: { rank: 'asc' } });
    expect(ranks.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    for (const rank of [0, 1, 2, 3]) {
      expect(await harness.stdout(id, rank)).toBe(`Hello! I'm rank ${rank} from 4\n`);
      expect(ranks[rank]?.stdoutBytes).toBe(BigInt(`Hello! I'm rank ${rank} from 4\n`.length));
    }
    const transitions = await harness.prisma.jobTransition.findMany({ where: { jobId: id }, orderBy: { id: 'asc' } });
    expect(transitions.map((t) => t.status)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(await keysUnder(harness.rankPrefix)).toEqual([]);
  });

  it('fails a job whose rank raises, naming the rank with its stderr tail', async () => {
    const id = await harness.submit(
      'from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ncomm.Barrier()\nif comm.rank == 1:\n    raise RuntimeError("bad input on rank 1")\ncomm.recv(source=1)\n',
      3,
    );
    const job = await harness.waitForStatus(id);
    expect(job).toMatchObject({ status: JobStatus.FAILED, exitCode: 1, failedRank: 1, reason: 'rank 1 exited with code 1' });
    expect(job.stderrTail).toContain('RuntimeError: bad input on rank 1');
  });

  it('ends a job past its time limit as TIMED_OUT', async () => {
    const id = await harness.submit('import time\nprint("started", flush=True)\ntime.sleep(60)\n', 2, { timeoutSeconds: 1 });
    const job = await harness.waitForStatus(id);
    expect(job).toMatchObject({ status: JobStatus.TIMED_OUT, exitCode: 124 });
    expect(await harness.stdout(id, 0)).toBe('started\n');
  });

  it('cancels a running job: its ranks are stopped and it ends CANCELLED', async () => {
    const id = await harness.submit('import time\nprint("working", flush=True)\ntime.sleep(60)\n', 2);
    await harness.waitForStatus(id, [JobStatus.RUNNING]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const asked = Date.now();
    await harness.cancel(id);
    const job = await harness.waitForStatus(id);
    expect(job).toMatchObject({ status: JobStatus.CANCELLED, reason: 'cancelled by user' });
    expect(Date.now() - asked).toBeLessThan(5000);
  });

  it('cancels a job whose share was still being prepared when the cancel came', async () => {
    // The leader's run takes the cancel; the share, registered only once its workspace and
    // outputs are ready, must be stopped as it registers rather than run its ranks to the end.
    const outputs = worker.get(JobOutputs);
    const prepare = outputs.prepare.bind(outputs);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const preparing = vi.spyOn(outputs, 'prepare').mockImplementation(async (...args) => {
      await held;
      return prepare(...args);
    });
    try {
      const id = await harness.submit('import time\nprint("working", flush=True)\ntime.sleep(60)\n', 2);
      await harness.waitForStatus(id, [JobStatus.RUNNING]);
      await expect.poll(() => preparing.mock.calls.length, { timeout: 10_000 }).toBe(1);
      await harness.cancel(id);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const asked = Date.now();
      release();
      const job = await harness.waitForStatus(id, undefined, 15_000);
      expect(job).toMatchObject({ status: JobStatus.CANCELLED, reason: 'cancelled by user' });
      expect(Date.now() - asked).toBeLessThan(5000);
    } finally {
      release();
      preparing.mockRestore();
    }
  });

  it('runs a job of this worker alone on no Redis connection of its own, heartbeating on the worker’s, and leaves no key', async () => {
    const id = await harness.submit('import time\nfrom mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\ntime.sleep(1.5)\n', 2);
    await harness.waitForStatus(id, [JobStatus.RUNNING]);
    const redis = new Redis(REDIS_URL);
    try {
      await expect.poll(async () => (await keysUnder(harness.rankPrefix)).filter((key) => key.includes(id)), { timeout: 5000 }).toEqual([
        expect.stringMatching(/:alive:0$/),
      ]);
      const clients = String(await redis.client('LIST'));
      expect(clients).not.toContain(id);
    } finally {
      redis.disconnect();
    }
    expect(await harness.waitForStatus(id)).toMatchObject({ status: JobStatus.SUCCEEDED });
    expect(await keysUnder(harness.rankPrefix)).toEqual([]);
  });

  it('holds a job that waits for slots and starts it as they free, without sending it back to the queue', async () => {
    const blocker = await harness.submit('import time\ntime.sleep(1.5)\n', 8);
    await harness.waitForStatus(blocker, [JobStatus.RUNNING]);
    const waiter = await harness.submit('print("after")\n', 1);
    expect(await harness.waitForStatus(waiter)).toMatchObject({ status: JobStatus.SUCCEEDED });
    const finished = await harness.prisma.job.findUniqueOrThrow({ where: { id: blocker } });
    const started = await harness.prisma.job.findUniqueOrThrow({ where: { id: waiter } });
    expect(started.startedAt!.getTime()).toBeGreaterThanOrEqual(finished.finishedAt!.getTime() - 50);
    // Each move to the delayed set is an event of the queue's stream.
    const redis = new Redis(REDIS_URL);
    try {
      const events = await redis.xrange(`${harness.queuePrefix}:mpi-jobs:events`, '-', '+');
      const delayed = events.filter(([, fields]) => fields.includes('delayed') && fields.includes(waiter));
      expect(delayed).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('gives ranks the job’s variables and no credentials, and no network where the kernel allows', async () => {
    const id = await harness.submit(
      [
        'import os, socket',
        'print(sorted(k for k in os.environ if "REDIS" in k or "DATABASE" in k or k.startswith("PG")))',
        'print(os.environ["GREETING"])',
        's = socket.socket()',
        's.settimeout(2)',
        'print("redis reachable" if s.connect_ex(("127.0.0.1", 6379)) == 0 else "redis unreachable")',
      ].join('\n'),
      1,
      { env: { GREETING: 'hi' } },
    );
    await harness.waitForStatus(id);
    const out = await harness.stdout(id, 0);
    expect(out).toContain('[]\nhi\n');
    if (worker.get(RankSandbox).isolatesNetwork) expect(out).toContain('redis unreachable');
  });

  it('keeps ranks away from the worker: no process of it to read, another user', async () => {
    const id = await harness.submit(
      [
        'import os',
        'found = []',
        'for pid in filter(str.isdigit, os.listdir("/proc")):',
        '    try:',
        '        env = open(f"/proc/{pid}/environ", "rb").read()',
        '    except OSError:',
        '        continue',
        '    if b"DATABASE_URL" in env or b"REDIS_URL" in env:',
        '        found.append(pid)',
        'print("credentials in", found)',
        'print("uid", os.getuid())',
      ].join('\n'),
      1,
    );
    await harness.waitForStatus(id);
    const out = await harness.stdout(id, 0);
    expect(out).toContain('credentials in []');
    if (process.getuid?.() === 0) expect(out).not.toContain('uid 0\n');
  });

  it('kills what a job leaves running when it ends, even a daemon that left its process group', async () => {
    if (process.getuid?.() !== 0) return; // needs per-job rank users, i.e. a root worker
    const marker = `/tmp/mpiaas-escapee-${process.pid}-${Date.now()}`;
    const id = await harness.submit(
      [
        'import os, time',
        'if os.fork() == 0:',
        '    os.setsid()',
        '    if os.fork() == 0:',
        '        time.sleep(2)',
        `        open("${marker}", "w").write("still alive")`,
        '    os._exit(0)',
        'print("parent done")',
      ].join('\n'),
      1,
    );
    expect((await harness.waitForStatus(id)).status).toBe(JobStatus.SUCCEEDED);
    // No process of the job is left (the daemon included), and it never wrote its marker.
    await expect.poll(() => rankProcessesOf(`${id}.`), { timeout: 5000 }).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(existsSync(marker)).toBe(false);
  });

  it('runs jobs while its rank zygote is down, and forks them warm again once it is back', async () => {
    const zygote = worker.get<RankZygote | null>(RANK_ZYGOTE);
    if (!zygote) return; // no warm pool here (not a root worker)
    const warm = 'import sys\nprint("numpy" in sys.modules)\n';
    const run = async (): Promise<string> => {
      const id = await harness.submit(warm, 1);
      expect((await harness.waitForStatus(id)).status).toBe(JobStatus.SUCCEEDED);
      return harness.stdout(id, 0);
    };
    expect(await run()).toBe('True\n');
    const pids = await processesWhoseCommandHas(zygote.socketPath);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await expect.poll(() => zygote.available).toBe(false);
    expect(['True\n', 'False\n']).toContain(await run()); // cold while it restarts
    await expect.poll(run, { timeout: 20_000, interval: 500 }).toBe('True\n');
  });

  it('caps stored output per rank and marks the rank truncated', async () => {
    const id = await harness.submit('import sys\nfor i in range(20000):\n    print("x" * 20)\n', 1);
    await harness.waitForStatus(id);
    const out = await harness.stdout(id, 0);
    expect(out.length).toBeLessThanOrEqual(LOG_CAP + 200);
    expect(out).toContain('[mpiaas: output of rank 0 truncated after 65536 bytes]');
    const rank = await harness.prisma.jobRank.findUniqueOrThrow({ where: { jobId_rank: { jobId: id, rank: 0 } } });
    expect(rank.truncated).toBe(true);
  });

  it('enforces the memory limit on each rank', async () => {
    const id = await harness.submit('import numpy\nblock = numpy.ones(2 * 1024**3, dtype=numpy.uint8)\nprint("allocated")\n', 1);
    const job = await harness.waitForStatus(id);
    expect(job.status).toBe(JobStatus.FAILED);
    expect(job.stderrTail).toContain('MemoryError');
  });

  it('fails a job that makes its agent hold more than JOB_AGENT_BYTES (Ibcasts nobody joins), then runs the next', async () => {
    const script = [
      'import time',
      'import numpy',
      'from mpi4py import MPI',
      'comm = MPI.COMM_WORLD',
      // beyond what a rank leaves in shared-memory files (32 MiB): through the agent
      'block = numpy.ones(48 * 1024**2, dtype=numpy.uint8)',
      'if comm.rank == 0:',
      '    requests = [comm.Ibcast(block, root=0) for _ in range(3)]',
      'time.sleep(60)',
    ].join('\n');
    const id = await harness.submit(script, 2);
    const job = await harness.waitForStatus(id);
    expect(job).toMatchObject({ status: JobStatus.FAILED, failedRank: 0 });
    expect(job.reason).toContain("rank 0: the job's data held by its agent passed 64 MiB");
    // the rank's stored stderr says so too, where its user reads its logs
    const stderr = await harness.prisma.logChunk.findMany({ where: { jobId: id, rank: 0, stream: 'STDERR' } });
    expect(stderr.map((c) => c.text).join('')).toContain("mpiaas: the job's data held by its agent passed 64 MiB");
    const next = await harness.submit('from mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\nprint("next")\n', 2);
    expect(await harness.waitForStatus(next)).toMatchObject({ status: JobStatus.SUCCEEDED });
  });

  it('drops a queue entry of a job that already ended, without taking its place in line', async () => {
    const ended = await harness.prisma.job.create({
      // Larger than the worker: were it placed like a waiting job, it would wait in line forever.
      data: { script: 'pass', np: 100, timeoutSeconds: 60, status: JobStatus.CANCELLED, finishedAt: new Date() },
    });
    await harness.queue.add(MpiJobName.Run, { jobId: ended.id }, { jobId: ended.id });
    const line = new SchedulerKeys(harness.queuePrefix).pending;
    await expect.poll(async () => (await harness.queue.getJobState(ended.id)) === 'completed', { timeout: 10_000 }).toBe(true);
    expect(await worker.get(GangScheduler).connection.zscore(line, ended.id)).toBeNull();
    expect((await harness.prisma.job.findUniqueOrThrow({ where: { id: ended.id } })).status).toBe(JobStatus.CANCELLED);
  });

  it('refuses to run a share ordered by a leader of another agent protocol, reporting it as the infrastructure’s fault', async () => {
    const scheduler = worker.get(GangScheduler);
    const me = worker.get<WorkerConfig>(WORKER_CONFIG).WORKER_ID;
    const leader = `older-leader-${Date.now()}`;
    // As a worker of the version before the agent protocol was named would order it.
    const order = { jobId: 'from-an-older-leader', attempt: 1, agent: 1, placement: [0, 1], workers: [leader, me], leader, deadline: Date.now() + 30_000 };
    await scheduler.connection.rpush(scheduler.keys.orders(me), JSON.stringify(order));
    const reply = await scheduler.connection.blpop(scheduler.keys.reports(leader), 10);
    expect(reply).not.toBeNull();
    const report = JSON.parse(reply![1]) as { runId: string; verdict: { status: string; infrastructure: boolean; reason: string }; ranks: unknown[] };
    expect(report).toMatchObject({ runId: 'from-an-older-leader.1', verdict: { status: 'FAILED', infrastructure: true }, ranks: [] });
    expect(report.verdict.reason).toContain(`its leader ${leader} speaks agent protocol 2 or older, this worker ${AGENT_PROTOCOL_VERSION}`);
  });

  it('retries a RUNNING job the queue no longer holds once, then fails it with reason "worker lost"', async () => {
    const orphan = (attempts: number) =>
      harness.prisma.job.create({
        data: { script: 'print("again")', np: 1, timeoutSeconds: 60, status: JobStatus.RUNNING, startedAt: new Date(), attempts },
      });
    const [once, twice] = [await orphan(1), await orphan(2)];
    const report = await worker.get(Reconciler).reconcile({ staleRunningMs: 0 });
    expect(report).toMatchObject({ retried: 1, failed: 1 });
    expect(await harness.prisma.job.findUniqueOrThrow({ where: { id: twice.id } })).toMatchObject({
      status: JobStatus.FAILED,
      reason: 'worker lost (queue state: unknown)',
    });
    expect(await harness.waitForStatus(once.id)).toMatchObject({ status: JobStatus.SUCCEEDED, attempts: 2 });
    expect(await harness.stdout(once.id)).toBe('again\n');
    const transitions = await harness.prisma.jobTransition.findMany({ where: { jobId: once.id }, orderBy: { id: 'asc' } });
    expect(transitions.map((t) => t.status)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(transitions[0]?.reason).toBe('attempt 1 lost its worker and its queue entry; retried');
  });
});
