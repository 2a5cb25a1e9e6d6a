import { Inject, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { MpiJobName, QueueName, type RunJobPayload } from '@mpiaas/contracts';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { ActiveRuns } from '../runs/active-runs';
import { JobRunner } from '../runs/job-runner.service';
import { SlotPool } from '../runs/slot-pool';

/** A job that does not fit in the free slots waits this long before any worker retries it. */
const NO_SLOT_DELAY_MS = 250;

/**
 * Consumes QueueName.MpiJobs. BullMQ's lock doubles as the worker's heartbeat: if this
 * process dies, another worker's stall check puts the job back in the queue (once), and
 * JobRunner restarts it from scratch.
 */
export class RunJobProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RunJobProcessor.name);
  private readonly slots: SlotPool;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly runner: JobRunner,
    private readonly active: ActiveRuns,
  ) {
    super();
    this.slots = new SlotPool(config.SLOTS);
  }

  onApplicationBootstrap(): void {
    // One BullMQ job per slot at most; SlotPool then counts ranks, not jobs.
    this.worker.concurrency = this.config.SLOTS;
    this.worker.on('error', (error) => this.logger.error(`queue: ${error.message}`));
    // Past its lock the queue hands a job to another worker: stop our copy of it.
    this.worker.on('lockRenewalFailed', (jobIds) => jobIds.forEach((id) => this.active.stop(id, 'lost')));
    void this.worker.run();
    this.logger.log(`worker ${this.config.WORKER_ID} taking jobs with ${this.config.SLOTS} rank slots`);
  }

  async process(job: Job<RunJobPayload>, token?: string): Promise<void> {
    const name = job.name as MpiJobName;
    switch (name) {
      case MpiJobName.Run:
        return this.run(job, token);
      default: {
        const unknown: never = name;
        throw new UnrecoverableError(`no handler for job name ${String(unknown)}`);
      }
    }
  }

  private async run(job: Job<RunJobPayload>, token: string | undefined): Promise<void> {
    const np = await this.runner.ranksOf(job.data.jobId);
    if (np === undefined) throw new UnrecoverableError(`job ${job.data.jobId} does not exist`);
    const taken = this.slots.tryTake(np);
    if (taken === 0) {
      // Let a worker with room take it (or this one, once a job ends).
      await job.moveToDelayed(Date.now() + NO_SLOT_DELAY_MS, token);
      throw new DelayedError();
    }
    try {
      await this.runner.run(job.data);
    } finally {
      this.slots.release(taken);
    }
  }

  /**
   * Registers the class as the queue's processor with options from the config (decorator
   * arguments are fixed at load time otherwise). A stalled job is retried once.
   */
  static register(config: WorkerConfig): typeof RunJobProcessor {
    Processor(QueueName.MpiJobs, {
      autorun: false,
      lockDuration: config.QUEUE_LOCK_MS,
      stalledInterval: config.QUEUE_STALLED_INTERVAL_MS,
      maxStalledCount: 1,
    })(RunJobProcessor);
    return RunJobProcessor;
  }

  @OnWorkerEvent('failed')
  async onFailed(job: Job<RunJobPayload> | undefined, error: Error): Promise<void> {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const exhausted = job.attemptsMade >= attempts || error instanceof UnrecoverableError || /stalled/i.test(error.message);
    if (exhausted) await this.runner.giveUp(job.data.jobId, `worker lost: ${error.message}`);
  }

  /** SIGTERM: take no new job, give running ones the grace period, then requeue them. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.pause(true);
    if (this.active.size === 0) return;
    this.logger.log(`waiting up to ${this.config.SHUTDOWN_GRACE_SECONDS}s for ${this.active.size} running job(s)`);
    if (await this.active.drained(this.config.SHUTDOWN_GRACE_SECONDS * 1000)) return;
    this.active.stopAll('shutdown');
    await this.active.drained(10_000);
  }
}
