import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobStatus } from '@mpiaas/db';
import { loadWorkerConfig, type WorkerConfig } from '../config/worker-config';
import type { GangScheduler } from '../placement/gang-scheduler';
import type { QueueEntries, QueueEntry } from './queue-entries';
import type { ReconcileLock } from './reconcile-lock';
import type { ReconcileRepository, RunningJob, ScanPosition } from './reconcile.repository';
import { reconcileTiming } from './reconcile-timing';
import { Reconciler } from './reconciler.service';

const at = new Date('2026-01-01T00:00:00Z');

/** Postgres and the queue as plain maps; what the reconciler did, recorded. */
function world(options: { queued?: string[]; running?: Omit<RunningJob, 'createdAt'>[]; entries?: Record<string, QueueEntry>; lock?: boolean } = {}) {
  const queued = (options.queued ?? []).map((id) => ({ id, createdAt: at }));
  const running = (options.running ?? []).map((job) => ({ ...job, createdAt: at }));
  const page = <T extends ScanPosition>(rows: T[], after: ScanPosition | undefined, take: number) =>
    rows.filter((row) => !after || row.id > after.id).slice(0, take);
  const done = { added: [] as string[], requeued: [] as string[], failed: [] as [string, JobStatus, string][], forgotten: [] as string[] };
  const jobs = {
    queuedPage: vi.fn(async (_before: Date, after: ScanPosition | undefined, take: number) => page(queued, after, take)),
    staleRunningPage: vi.fn(async (_before: Date, after: ScanPosition | undefined, take: number) => page(running, after, take)),
    requeueLost: vi.fn(async (job: RunningJob) => (done.requeued.push(job.id), true)),
    failLost: vi.fn(async (id: string, from: JobStatus, _before: Date, reason: string) => (done.failed.push([id, from, reason]), true)),
  };
  const entries = {
    of: vi.fn(async (ids: readonly string[]) => new Map(ids.map((id) => [id, options.entries?.[id] ?? 'absent'] as const))),
    add: vi.fn(async (id: string) => void done.added.push(id)),
  };
  const lock = { take: vi.fn(async () => options.lock ?? true) };
  const scheduler = { forget: vi.fn(async (id: string) => void done.forgotten.push(id)) };
  return { jobs, entries, lock, scheduler, done };
}

function reconcilerOf(w: ReturnType<typeof world>, config: Partial<WorkerConfig> = {}): Reconciler {
  return new Reconciler(
    { ...loadWorkerConfig({}), ...config },
    w.jobs as unknown as ReconcileRepository,
    w.entries as unknown as QueueEntries,
    w.lock as unknown as ReconcileLock,
    w.scheduler as unknown as GangScheduler,
  );
}

afterEach(() => vi.useRealTimers());

describe('reconcile timing', () => {
  it('re-adds a lost job within 30 s at the default interval (the issue’s bound)', () => {
    const timing = reconcileTiming(loadWorkerConfig({}).RECONCILE_INTERVAL_MS);
    expect(timing.intervalMs).toBe(10_000);
    expect(timing.recoveryBoundMs).toBe(20_000);
    expect(timing.recoveryBoundMs).toBeLessThanOrEqual(30_000);
  });

  it('derives every period from the interval: grace and lock half of it, bound twice it', () => {
    expect(reconcileTiming(1000)).toEqual({ intervalMs: 1000, lockTtlMs: 500, queuedGraceMs: 500, recoveryBoundMs: 2000 });
  });
});

describe('Reconciler', () => {
  it('adds again a QUEUED job the queue does not hold, and leaves held ones alone', async () => {
    const w = world({ queued: ['a', 'b', 'c'], entries: { b: 'held' } });
    expect(await reconcilerOf(w).reconcile()).toEqual({ enqueued: 2, retried: 0, failed: 0 });
    expect(w.done.added).toEqual(['a', 'c']);
    expect(w.done.failed).toEqual([]);
  });

  it('fails a QUEUED job whose entry the queue is done with (adding it again would be a no-op)', async () => {
    const w = world({ queued: ['done', 'gave-up'], entries: { done: 'completed', 'gave-up': 'failed' } });
    expect(await reconcilerOf(w).reconcile()).toEqual({ enqueued: 0, retried: 0, failed: 2 });
    expect(w.done.failed).toEqual([
      ['done', JobStatus.QUEUED, 'worker lost (queue state: completed)'],
      ['gave-up', JobStatus.QUEUED, 'worker lost (queue state: failed)'],
    ]);
    expect(w.done.forgotten).toEqual(['done', 'gave-up']);
    expect(w.done.added).toEqual([]);
  });

  it('retries a stale RUNNING job with no queue entry while it has an attempt left, fails it after', async () => {
    const w = world({ running: [{ id: 'r1', attempts: 1 }, { id: 'r2', attempts: 2 }, { id: 'r3', attempts: 1 }], entries: { r3: 'held' } });
    expect(await reconcilerOf(w).reconcile()).toEqual({ enqueued: 0, retried: 1, failed: 1 });
    expect(w.done.requeued).toEqual(['r1']);
    expect(w.done.added).toEqual(['r1']);
    expect(w.done.failed).toEqual([['r2', JobStatus.RUNNING, 'worker lost (queue state: unknown)']]);
  });

  it('adds nothing when another writer moved the job first (its conditional update lost)', async () => {
    const w = world({ running: [{ id: 'r1', attempts: 1 }] });
    w.jobs.requeueLost.mockResolvedValue(false);
    expect(await reconcilerOf(w).reconcile()).toEqual({ enqueued: 0, retried: 0, failed: 0 });
    expect(w.done.added).toEqual([]);
  });

  it('reads the jobs page by page, each page’s queue entries in one call', async () => {
    const ids = Array.from({ length: 1201 }, (_, i) => `job-${String(i).padStart(5, '0')}`);
    const w = world({ queued: ids });
    expect((await reconcilerOf(w).reconcile()).enqueued).toBe(1201);
    expect(w.jobs.queuedPage).toHaveBeenCalledTimes(3);
    expect(w.entries.of).toHaveBeenCalledTimes(4); // 3 pages of queued + 1 of running
    expect(w.jobs.queuedPage.mock.calls[1]?.[1]).toMatchObject({ id: ids[499] });
  });

  it('uses the configured grace and staleness, or a test’s overrides', async () => {
    vi.useFakeTimers({ now: at });
    const w = world();
    await reconcilerOf(w, { RECONCILE_INTERVAL_MS: 4000, RECONCILE_STALE_RUNNING_MS: 7000 }).reconcile();
    expect(w.jobs.queuedPage.mock.calls[0]?.[0]).toEqual(new Date(at.getTime() - 2000));
    expect(w.jobs.staleRunningPage.mock.calls[0]?.[0]).toEqual(new Date(at.getTime() - 7000));
    await reconcilerOf(w).reconcile({ queuedGraceMs: 0, staleRunningMs: 0 });
    expect(w.jobs.queuedPage.mock.calls[1]?.[0]).toEqual(at);
  });

  it('passes every interval, only when it holds the period’s lock', async () => {
    vi.useFakeTimers({ now: at });
    const w = world({ queued: ['a'] });
    const reconciler = reconcilerOf(w, { RECONCILE_INTERVAL_MS: 1000 });
    reconciler.onApplicationBootstrap();
    await vi.advanceTimersByTimeAsync(999);
    expect(w.lock.take).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(w.lock.take).toHaveBeenCalledWith(500);
    expect(w.done.added).toEqual(['a']);

    w.lock.take.mockResolvedValue(false); // another worker's pass this period
    await vi.advanceTimersByTimeAsync(1000);
    expect(w.lock.take).toHaveBeenCalledTimes(2);
    expect(w.done.added).toEqual(['a']);
    reconciler.onApplicationShutdown();
  });

  it('goes on with queued jobs when the running half fails, and reports no crash', async () => {
    const w = world({ queued: ['a'] });
    w.jobs.staleRunningPage.mockRejectedValue(new Error('connection reset'));
    expect(await reconcilerOf(w).reconcile()).toEqual({ enqueued: 1, retried: 0, failed: 0 });
  });
});
