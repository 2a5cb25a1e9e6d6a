import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RUN_JOB_OPTIONS } from '@mpiaas/contracts';
import { JobStatus } from '@mpiaas/db';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { GangScheduler } from '../placement/gang-scheduler';
import { QueueEntries, type QueueEntry } from './queue-entries';
import { ReconcileLock } from './reconcile-lock';
import { ReconcileRepository, type ScanPosition } from './reconcile.repository';
import { reconcileTiming, type ReconcileTiming } from './reconcile-timing';

/** Jobs read per page (and per Redis round trip). */
const PAGE = 500;

/** What one pass did. */
export interface ReconcileReport {
  /** QUEUED jobs the queue had lost, added again. */
  enqueued: number;
  /** RUNNING jobs whose worker and queue entry were gone, put back in the queue for another attempt. */
  retried: number;
  /** Jobs failed: the queue was done with them (attempts spent) while Postgres was not. */
  failed: number;
}

/** Overrides for a pass run by hand (tests); a timer's pass uses the configuration. */
export interface ReconcileOptions {
  queuedGraceMs?: number;
  staleRunningMs?: number;
}

/**
 * Holds the queue (Redis) to Postgres, the source of truth, so no job waits or runs forever:
 *
 * - a job QUEUED in Postgres that the queue does not hold — its entry lost with Redis' data
 *   (a restart without persistence, a failover, an AOF missing its last second) or never
 *   added (the api died between its insert and its enqueue) — is added again;
 * - a job RUNNING in Postgres whose leader stopped touching it and whose queue entry is gone
 *   (the worker died, or its lock vanished with Redis' data and it stopped the job) goes back
 *   to the queue for another attempt while it has one, and is failed after that;
 * - a job the queue is done with (completed or failed: BullMQ spent its attempts, and the
 *   worker that should have recorded it died) is failed "worker lost", as BullMQ's give-up does.
 *
 * A job never runs twice because of this: an entry is only added where none exists (BullMQ's
 * job id is the job's id, and adding a held id is a no-op), a worker only claims a job QUEUED
 * (or RUNNING, for a retry) in Postgres under a row lock, and each claim moves the attempt
 * number that fences out every write of the attempt before.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  readonly timing: ReconcileTiming;
  private timer: NodeJS.Timeout | undefined;
  private passing = false;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly jobs: ReconcileRepository,
    private readonly entries: QueueEntries,
    private readonly lock: ReconcileLock,
    private readonly scheduler: GangScheduler,
  ) {
    this.timing = reconcileTiming(config.RECONCILE_INTERVAL_MS);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.timing.intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** A timer's turn: a pass, if no pass of this worker is still going and no other worker has this period's. */
  async tick(): Promise<void> {
    if (this.passing) return;
    this.passing = true;
    try {
      if (await this.lock.take(this.timing.lockTtlMs)) await this.reconcile();
    } catch (error) {
      this.logger.warn(`reconcile: ${(error as Error).message}`);
    } finally {
      this.passing = false;
    }
  }

  /** One pass; public so tests can run it without waiting. Each half goes on if the other fails. */
  async reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const report: ReconcileReport = { enqueued: 0, retried: 0, failed: 0 };
    // Running first: a job it puts back in the queue is QUEUED with a fresh entry already.
    await this.recoverRunning(options.staleRunningMs ?? this.config.RECONCILE_STALE_RUNNING_MS, report).catch((error: Error) =>
      this.logger.warn(`reconcile running jobs: ${error.message}`),
    );
    await this.recoverQueued(options.queuedGraceMs ?? this.timing.queuedGraceMs, report).catch((error: Error) =>
      this.logger.warn(`reconcile queued jobs: ${error.message}`),
    );
    return report;
  }

  private async recoverQueued(graceMs: number, report: ReconcileReport): Promise<void> {
    const before = new Date(Date.now() - graceMs);
    const added: string[] = [];
    try {
      await this.scanQueued(before, added, report);
    } finally {
      // One line per pass: after Redis lost its data there may be thousands.
      if (added.length > 0) {
        const shown = added.slice(0, 5).join(', ') + (added.length > 5 ? `, … (${added.length - 5} more)` : '');
        this.logger.warn(`${added.length} QUEUED job(s) the queue did not hold enqueued again: ${shown}`);
      }
    }
  }

  private async scanQueued(before: Date, added: string[], report: ReconcileReport): Promise<void> {
    let after: ScanPosition | undefined;
    for (;;) {
      const page = await this.jobs.queuedPage(before, after, PAGE);
      const entries = await this.entries.of(page.map((job) => job.id));
      for (const job of page) {
        const entry = entries.get(job.id) as QueueEntry;
        if (entry === 'held') continue;
        if (entry === 'absent') {
          await this.entries.add(job.id);
          report.enqueued++;
          added.push(job.id);
        } else if (await this.giveUp(job.id, JobStatus.QUEUED, before, entry)) report.failed++;
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1];
    }
  }

  private async recoverRunning(staleMs: number, report: ReconcileReport): Promise<void> {
    const before = new Date(Date.now() - staleMs);
    let after: ScanPosition | undefined;
    for (;;) {
      const page = await this.jobs.staleRunningPage(before, after, PAGE);
      const entries = await this.entries.of(page.map((job) => job.id));
      for (const job of page) {
        const entry = entries.get(job.id) as QueueEntry;
        // Held: BullMQ's stall detection gives it to another worker (or fails it) by itself.
        if (entry === 'held') continue;
        if (entry === 'absent' && job.attempts < RUN_JOB_OPTIONS.attempts) {
          const why = `attempt ${job.attempts} lost its worker and its queue entry; retried`;
          if (await this.jobs.requeueLost(job, before, why)) {
            await this.entries.add(job.id);
            report.retried++;
            this.logger.warn(`job ${job.id}: ${why}`);
          }
        } else if (await this.giveUp(job.id, JobStatus.RUNNING, before, entry)) report.failed++;
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1];
    }
  }

  /** Fails the job as BullMQ's own give-up does (JobRunner.giveUp), and takes it out of the line. */
  private async giveUp(jobId: string, from: JobStatus, before: Date, entry: QueueEntry): Promise<boolean> {
    const reason = `worker lost (queue state: ${entry === 'absent' ? 'unknown' : entry})`;
    if (!(await this.jobs.failLost(jobId, from, before, reason))) return false;
    await this.scheduler.forget(jobId).catch(() => undefined);
    this.logger.warn(`job ${jobId} FAILED: ${reason}`);
    return true;
  }
}
