import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MpiJobName, QueueName, RUN_JOB_OPTIONS, type RunJobPayload } from '@mpiaas/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { withTimeout } from '../common/with-timeout';

/** The producer side of QueueName.MpiJobs. */
@Injectable()
export class JobQueue implements OnModuleDestroy {
  private readonly queue: Queue<RunJobPayload, unknown, MpiJobName>;
  private readonly timeoutMs: number;
  private readonly logger = new Logger(JobQueue.name);

  constructor(@Inject(API_CONFIG) config: ApiConfig, redis: Redis) {
    this.queue = new Queue(QueueName.MpiJobs, { connection: redis, prefix: config.queuePrefix });
    this.timeoutMs = config.redisTimeoutMs;
    // Without a listener BullMQ prints each connection error; RedisModule already reports outages.
    this.queue.on('error', (error) => this.logger.debug(`queue: ${error.message}`));
  }

  /**
   * Enqueues a run of `jobId`, whose BullMQ id is `jobId` too: adding it again while it is
   * still in the queue is a no-op, so a retried enqueue never runs a job twice.
   */
  async enqueueRun(payload: RunJobPayload): Promise<void> {
    const added = this.queue.add(MpiJobName.Run, payload, { ...RUN_JOB_OPTIONS, jobId: payload.jobId });
    await withTimeout(added, this.timeoutMs, 'enqueue');
  }

  /** enqueueRun for many jobs in one Redis round trip (BullMQ sends the adds as one MULTI). */
  async enqueueRuns(payloads: readonly RunJobPayload[]): Promise<void> {
    const added = this.queue.addBulk(payloads.map((payload) => ({ name: MpiJobName.Run, data: payload, opts: { ...RUN_JOB_OPTIONS, jobId: payload.jobId } })));
    await withTimeout(added, this.timeoutMs, 'enqueue');
  }

  /** Removes the run of `jobId` if no worker holds it yet; true when it was removed. */
  async removeWaiting(jobId: string): Promise<boolean> {
    // BullMQ refuses to remove a locked (active) job and answers 0.
    return (await withTimeout(this.queue.remove(jobId), this.timeoutMs, 'remove from queue')) === 1;
  }

  /** Answers when the queue's Redis does (readiness). */
  async ping(): Promise<void> {
    await withTimeout(this.queue.getJobCounts('wait', 'active'), this.timeoutMs, 'queue');
  }

  async onModuleDestroy(): Promise<void> {
    await this.queue.close();
  }
}
