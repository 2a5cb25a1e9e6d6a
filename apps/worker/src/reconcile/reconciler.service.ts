import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '@mpiaas/contracts';
import { JobExecutionRepository } from '../runs/job-execution.repository';
import { JobRunner } from '../runs/job-runner.service';

const INTERVAL_MS = 30_000;
/** A running job's worker touches it every 2 s; one silent this long has lost its worker. */
const STALE_AFTER_MS = 60_000;
/** Queue states in which BullMQ still owns the job (it will run or re-run it). */
const OWNED_BY_QUEUE = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * The safety net behind BullMQ's stall detection: a job left RUNNING in Postgres that the
 * queue no longer holds (its record lost, or retries exhausted while no worker noticed) is
 * failed with reason "worker lost", so no job stays RUNNING forever.
 */
@Injectable()
export class Reconciler implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @InjectQueue(QueueName.MpiJobs) private readonly queue: Queue,
    private readonly jobs: JobExecutionRepository,
    private readonly runner: JobRunner,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.reconcile(), INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; public so tests can run it without waiting. */
  async reconcile(staleAfterMs = STALE_AFTER_MS): Promise<number> {
    let failed = 0;
    try {
      for (const { id } of await this.jobs.staleRunning(staleAfterMs)) {
        const state = await this.queue.getJobState(id);
        if (OWNED_BY_QUEUE.has(state)) continue;
        await this.runner.giveUp(id, `worker lost (queue state: ${state})`);
        failed++;
      }
    } catch (error) {
      this.logger.warn(`reconcile pass failed: ${(error as Error).message}`);
    }
    return failed;
  }
}
