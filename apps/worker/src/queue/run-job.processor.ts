import { Inject, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { MpiJobName, QueueName, type RunJobPayload } from '@mpiaas/contracts';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { ActiveRuns } from '../runs/active-runs';
import { JobRunner } from '../runs/job-runner.service';

/**
 * Consumes QueueName.MpiJobs: the worker taking a job leads it (JobRunner places it over
 * the cluster's slots). A job that cannot be placed yet goes back to the queue, delayed,
 * holding nothing. BullMQ's lock doubles as the leader's heartbeat: if this process dies,
 * another worker's stall check puts the job back in the queue (once), and it is restarted
 * from scratch as a new attempt.
 */
export class RunJobProcessor extends WorkerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(RunJobProcessor.name);

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly runner: JobRunner,
    private readonly active: ActiveRuns,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Leading is cheap (the ranks may run elsewhere): lead up to two jobs per slot; waiting
    // jobs do not count, they go straight back to the queue.
    this.worker.concurrency = 2 * this.config.SLOTS;
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
    // The entry's lock, as BullMQ keys it: `<prefix>:<queue>:<job id>:lock`.
    const lock = token ? { key: `${job.queueQualifiedName}:${job.id}:lock`, token } : undefined;
    const result = await this.runner.run(job.data, lock);
    if (result.kind === 'wait') {
      // Not placed: back to the queue holding no slot; the scheduler keeps its place in line.
      await job.moveToDelayed(Date.now() + result.delayMs, token);
      throw new DelayedError();
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
    const reason = /^worker lost/.test(error.message) ? error.message : `worker lost: ${error.message}`;
    if (exhausted) await this.runner.giveUp(job.data.jobId, reason);
  }

  /** SIGTERM: take no new job, give running ones the grace period, then requeue them. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.pause(true);
    this.runner.releaseHeld();
    if (this.active.size === 0) return;
    this.logger.log(`waiting up to ${this.config.SHUTDOWN_GRACE_SECONDS}s for ${this.active.size} running job(s)`);
    if (await this.active.drained(this.config.SHUTDOWN_GRACE_SECONDS * 1000)) return;
    this.active.stopAll('shutdown');
    await this.active.drained(10_000);
  }
}
