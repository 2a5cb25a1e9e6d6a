// One job over many workers. Three workers of two slots each run on hosts of their own
// (network namespaces with a veth link to Redis and Postgres, no shared loopback, no shared
// work directory); the api and this test sit on the root namespace. Jobs are placed over
// them all or nothing, run as one, and fail or restart as one when a worker dies or is cut
// off.
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerKeys, type JobView } from '@mpiaas/contracts';
import { listExamples, runMpirun, splitLines } from '../support/mpi-runs';
import { fixture, REDIS_URL, scanKeys } from '../support/mpiaas-exec';
import { NetnsHosts } from '../support/netns-hosts';
import { rankProcessesOf } from '../support/rank-processes';
import { ServiceStack, type StackProcess } from '../support/service-stack';

const WORKERS = ['h0', 'h1', 'h2'];
const WORKER_ENV = {
  SLOTS: '2',
  // Short queue locks and heartbeats so lost workers are noticed within seconds.
  QUEUE_LOCK_MS: '3000',
  QUEUE_STALLED_INTERVAL_MS: '1000',
  WORKER_TIMEOUT_MS: '3000',
  AGENT_HEARTBEAT_TIMEOUT_MS: '2000',
  RENDEZVOUS_TIMEOUT_MS: '10000',
  SHUTDOWN_GRACE_SECONDS: '2',
};

const unsupported = NetnsHosts.unsupportedReason();
if (unsupported) console.warn(`gang placement tests skipped: ${unsupported}`);

describe.skipIf(unsupported !== undefined)('jobs spread over workers on separate hosts', () => {
  let hosts: NetnsHosts;
  let stack: ServiceStack;
  let redis: Redis;
  let keys: SchedulerKeys;
  const workers = new Map<string, StackProcess>();

  const startWorker = (index: number): void => {
    const name = WORKERS[index] as string;
    workers.set(name, stack.startWorkerOn(hosts.hosts[index]!, name, WORKER_ENV));
  };

  beforeAll(async () => {
    await NetnsHosts.cleanupStale();
    hosts = await NetnsHosts.create(WORKERS.length);
    stack = await ServiceStack.start({ workers: 0 });
    redis = new Redis(REDIS_URL);
    keys = new SchedulerKeys(stack.harness.queuePrefix);
    WORKERS.forEach((_, index) => startWorker(index));
    await stack.waitForWorkers(WORKERS.length);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await hosts?.dispose();
    redis?.disconnect();
  });

  async function submit(body: Record<string, unknown>): Promise<string> {
    return ((await request(stack.url).post('/jobs').send(body).expect(201)).body as JobView).id;
  }

  async function job(id: string): Promise<JobView> {
    return (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
  }

  async function waitFor(id: string, done: (view: JobView) => boolean, timeoutMs = 40_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await job(id);
      if (done(view)) return view;
      if (Date.now() > deadline) throw new Error(`job ${id} is ${view.status} (${view.reason})\n${stack.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const isFinal = (view: JobView): boolean => !['QUEUED', 'RUNNING'].includes(view.status);

  async function stdout(id: string): Promise<string[]> {
    const rows = await stack.harness.prisma.logChunk.findMany({ where: { jobId: id, stream: 'STDOUT' }, orderBy: { id: 'asc' } });
    return splitLines(rows.map((row) => row.text).join(''));
  }

  /** Nothing of the job left: no Redis key of any attempt, no slot held, no rank process. */
  async function expectNothingLeft(id: string): Promise<void> {
    await expect.poll(() => rankProcessesOf(id), { timeout: 10_000 }).toEqual([]);
    await expect.poll(() => scanKeys(redis, `${stack.harness.rankPrefix}{${id}`), { timeout: 10_000 }).toEqual([]);
    await expect.poll(() => redis.hexists(keys.running, id), { timeout: 10_000 }).toBe(0);
  }

  it('runs np 6 over three 2-slot workers, printing what mpirun -np 6 prints', async () => {
    const [example] = (await listExamples()).filter((info) => info.name === 'pi.py');
    const script = await readFile(example!.file, 'utf8');
    const [baseline, id] = await Promise.all([runMpirun(example!.file, 6), submit({ script, np: 6, placement: 'spread' })]);
    const final = await waitFor(id, isFinal);
    expect(final.status, final.reason ?? '').toBe('SUCCEEDED');
    expect(final.ranks.map((rank) => rank.worker).sort()).toEqual(['h0', 'h0', 'h1', 'h1', 'h2', 'h2']);
    expect((await stdout(id)).sort()).toEqual(baseline.rankLines.sort());
    await expectNothingLeft(id);
  });

  it("hands large bcasts to each worker's ranks through one file of its agent, in the job's sandboxed /tmp", async () => {
    const script = await readFile(fixture('agent_files_bcast.py'), 'utf8');
    const id = await submit({ script, np: 6, placement: 'spread' });
    const final = await waitFor(id, isFinal);
    expect(final.status, `${final.reason ?? ''} ${final.stderrTail ?? ''}`).toBe('SUCCEEDED');
    // each worker's /tmp is its own, and its agent wrote there (for a bcast rooted on another worker)
    expect((await stdout(id)).sort()).toEqual([0, 1, 2, 3, 4, 5].map((rank) => `rank ${rank}: files of 1 agents, names left 0`));
    await expectNothingLeft(id);
  });

  it('runs every example at np 8 over the three workers (oversubscribed) as mpirun does', async () => {
    for (const example of await listExamples()) {
      const script = await readFile(example.file, 'utf8');
      const [baseline, id] = await Promise.all([runMpirun(example.file, 8), submit({ script, np: 8, oversubscribe: true })]);
      const final = await waitFor(id, isFinal);
      expect(final.status, `${example.name}: ${final.reason ?? ''}`).toBe('SUCCEEDED');
      expect(new Set(final.ranks.map((rank) => rank.worker)).size, example.name).toBe(3);
      const got = (await stdout(id)).sort();
      const want = baseline.rankLines.sort();
      if (example.floatTolerance === undefined) expect(got, example.name).toEqual(want);
      else expect(got.length, example.name).toBe(want.length);
    }
  }, 180_000);

  it('cancels a job on every worker it runs on, and times one out everywhere', async () => {
    const forever = 'import time\nfrom mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\nprint("up", flush=True)\ntime.sleep(600)\n';
    const cancelled = await submit({ script: forever, np: 6, placement: 'spread' });
    await expect.poll(async () => (await stdout(cancelled)).length, { timeout: 20_000 }).toBe(6);
    await request(stack.url).post(`/jobs/${cancelled}/cancel`).expect(202);
    expect(await waitFor(cancelled, isFinal, 10_000)).toMatchObject({ status: 'CANCELLED', reason: 'cancelled by user' });
    await expectNothingLeft(cancelled);

    const timed = await submit({ script: forever, np: 6, placement: 'spread', timeoutSeconds: 2 });
    const final = await waitFor(timed, isFinal, 20_000);
    expect(final).toMatchObject({ status: 'TIMED_OUT', reason: 'time limit of 2s exceeded', exitCode: 124 });
    expect(new Set(final.ranks.map((rank) => rank.worker)).size).toBe(3);
    await expectNothingLeft(timed);
  });

  it('says why a job waits, and runs a job larger than the cluster only when told to oversubscribe', async () => {
    const id = await submit({ script: 'print(1)\n', np: 7 });
    const waiting = await waitFor(id, (view) => view.pending?.reason.startsWith('needs') ?? false, 10_000);
    expect(waiting.pending).toEqual({
      reason: 'needs 7 slots; all live workers together have 6 (set oversubscribe to run anyway)',
      slotsNeeded: 7,
      slotsFree: 6,
    });
    await request(stack.url).post(`/jobs/${id}/cancel`).expect(202);
    // Out of the line once the cancel is answered, and for good: the worker holding the job
    // asks again with the spec it read before (QUEUED), and placement refuses it.
    for (let check = 0; check < 15; check++) {
      expect(await redis.zscore(keys.pending, id)).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await redis.zscore(keys.gone, id)).not.toBeNull();
    const over = await submit({ script: 'from mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\n', np: 7, oversubscribe: true });
    expect(await waitFor(over, isFinal)).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('finishes two np 4 jobs competing for 6 slots, one after the other', async () => {
    const script = 'import time\nfrom mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\ntime.sleep(1)\nMPI.COMM_WORLD.Barrier()\n';
    const ids = await Promise.all([submit({ script, np: 4 }), submit({ script, np: 4 })]);
    const finals = await Promise.all(ids.map((id) => waitFor(id, isFinal)));
    expect(finals.map((view) => view.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const [a, b] = finals as [JobView, JobView];
    // Never both at once: 8 ranks do not fit in 6 slots.
    const overlap = Date.parse(a.startedAt!) < Date.parse(b.finishedAt!) && Date.parse(b.startedAt!) < Date.parse(a.finishedAt!);
    expect(overlap).toBe(false);
  });

  it('does not let a stream of np 1 jobs starve an np 6 job, but backfills one that ends in time', async () => {
    const sleeper = (seconds: number): string => `import time\ntime.sleep(${seconds})\n`;
    const first = await Promise.all([0, 1, 2].map(() => submit({ script: sleeper(2), np: 1, timeoutSeconds: 8 })));
    await Promise.all(first.map((id) => waitFor(id, (view) => view.status === 'RUNNING')));
    const big = await submit({ script: 'from mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\n', np: 6 });
    await waitFor(big, (view) => view.pending !== null && view.pending.reason.startsWith('waiting for'), 10_000);
    // Ends (by its limit) before the running jobs' limits free the big job's slots: may go first.
    const backfilled = await submit({ script: 'print("quick")\n', np: 1, timeoutSeconds: 2 });
    const stream: string[] = [];
    for (let i = 0; i < 8; i++) {
      stream.push(await submit({ script: sleeper(1), np: 1, timeoutSeconds: 30 }));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const bigFinal = await waitFor(big, isFinal);
    expect(bigFinal.status).toBe('SUCCEEDED');
    const quick = await waitFor(backfilled, isFinal);
    expect(Date.parse(quick.startedAt!)).toBeLessThan(Date.parse(bigFinal.startedAt!));
    for (const id of stream) {
      const view = await waitFor(id, isFinal);
      expect(Date.parse(view.startedAt!), 'a later small job started before the big one').toBeGreaterThanOrEqual(
        Date.parse(bigFinal.startedAt!),
      );
    }
  }, 90_000);

  for (const failure of ['killed', 'cut off'] as const) {
    it(`restarts a job from scratch when one of its workers is ${failure}, leaving nothing behind`, async () => {
      const script =
        'import time\nfrom mpi4py import MPI\ncomm = MPI.COMM_WORLD\nprint("rank", comm.Get_rank(), "started", flush=True)\n' +
        'for step in range(30):\n' +
        '    comm.Barrier()\n    time.sleep(0.1)\nprint("rank", comm.Get_rank(), "done")\n';
      const id = await submit({ script, np: 6, placement: 'spread' });
      const running = await waitFor(id, (view) => view.status === 'RUNNING' && view.ranks.length === 6);
      await expect.poll(async () => (await rankProcessesOf(id)).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
      const leader = (await stack.harness.prisma.job.findUniqueOrThrow({ where: { id } })).workerId;
      const victimName = WORKERS.find((name) => name !== leader && running.ranks.some((rank) => rank.worker === name))!;
      const victimIndex = WORKERS.indexOf(victimName);
      const attemptOne = `${id}.1`;

      const stoppedAt = Date.now();
      if (failure === 'killed') {
        const victim = workers.get(victimName)!;
        victim.kill('SIGKILL');
        await victim.exited;
      } else {
        await hosts.hosts[victimIndex]!.cut();
      }
      // Every rank of the first attempt is gone within 5 s (the cut-off worker's own ranks too).
      await expect.poll(() => rankProcessesOf(attemptOne), { timeout: 5_000, interval: 200 }).toEqual([]);
      expect(Date.now() - stoppedAt).toBeLessThan(6_000);

      if (failure === 'cut off') await hosts.hosts[victimIndex]!.restore();
      else startWorker(victimIndex);
      await stack.waitForWorkers(3);

      const final = await waitFor(id, isFinal, 60_000);
      const row = await stack.harness.prisma.job.findUniqueOrThrow({ where: { id }, include: { transitions: true } });
      expect(row.attempts).toBe(2);
      expect(row.transitions.map((t) => t.reason ?? '').join('\n')).toContain(`worker lost: ${victimName}`);
      expect(final.status, final.reason ?? '').toBe('SUCCEEDED');
      // The new attempt's output only: one line per rank, none of the first attempt's.
      const lines = [0, 1, 2, 3, 4, 5].flatMap((rank) => [`rank ${rank} started`, `rank ${rank} done`]);
      expect((await stdout(id)).sort()).toEqual(lines.sort());
      await expectNothingLeft(id);
    }, 120_000);
  }
});
