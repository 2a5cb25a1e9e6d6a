import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Queue, UnrecoverableError, Worker, type Job as QueueJob } from 'bullmq';
import { Redis } from 'ioredis';
import { FINAL_STATUSES, QueueName, type JobStatus, type WebhookDeliveryPayload } from '@mpiaas/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { toJobView } from '../jobs/job-view.mapper';
import { sendWebhook } from './webhook-sender';
import { WebhookRepository } from './webhook.repository';

/** Transitions looked at per poll at most. */
const BATCH = 500;
/**
 * Each poll looks again at this many ids before the cursor: an id is taken when a transaction
 * starts and visible when it commits, so a lower id may appear after a higher one. Events seen
 * twice are one queue entry (its id is the transition's).
 */
const REWIND = 1000n;

/**
 * Turns job status changes into webhook deliveries and makes them. Every status change writes
 * a job_transitions row, whoever makes it (a worker finishing or failing a job, the api
 * cancelling one, the reconciler); one api process at a time (a Redis lock) polls those rows
 * past a cursor kept in Redis and queues a delivery for each event a job's webhook asked
 * for. Every api process consumes the queue: an attempt is recorded in webhook_deliveries
 * and a failed one retried with exponential backoff (WEBHOOK_ATTEMPTS, WEBHOOK_BACKOFF_MS).
 */
/** How long a shutdown waits for the webhook queue to close before dropping its connections. */
const SHUTDOWN_WAIT_MS = 2000;

@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly queue: Queue<WebhookDeliveryPayload>;
  private worker: Worker<WebhookDeliveryPayload> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly cursorKey: string;
  private readonly lockKey: string;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly redis: Redis,
    private readonly repository: WebhookRepository,
  ) {
    this.queue = new Queue(QueueName.Webhooks, { connection: redis, prefix: config.queuePrefix });
    this.queue.on('error', (error) => this.logger.debug(`queue: ${error.message}`));
    this.cursorKey = `${config.queuePrefix}:webhooks:cursor`;
    this.lockKey = `${config.queuePrefix}:webhooks:dispatch-lock`;
  }

  onApplicationBootstrap(): void {
    // A connection of its own: a BullMQ worker blocks on Redis.
    this.worker = new Worker<WebhookDeliveryPayload>(QueueName.Webhooks, (job) => this.deliver(job), {
      connection: { url: this.config.redisUrl, maxRetriesPerRequest: null },
      prefix: this.config.queuePrefix,
      concurrency: 16,
    });
    this.worker.on('error', (error) => this.logger.debug(`webhook worker: ${error.message}`));
    this.timer = setInterval(() => {
      this.polling ??= this.poll()
        .catch((error: Error) => this.logger.warn(`webhooks: ${error.message}`))
        .finally(() => (this.polling = undefined));
    }, this.config.webhooks.pollMs);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    // Bounded: with Redis unreachable, BullMQ's close waits for it without end.
    const closed = Promise.all([this.polling, this.worker?.close(), this.queue.close()]).then(() => true);
    if (!(await Promise.race([closed, delay(SHUTDOWN_WAIT_MS, false)]))) {
      // Not awaited either: a disconnect also waits on the connection.
      this.worker?.disconnect().catch(() => undefined);
      this.queue.disconnect().catch(() => undefined);
    }
  }

  /** Queues the deliveries of the status changes since the cursor (holder of the lock only). */
  async poll(): Promise<void> {
    const held = await this.redis.set(this.lockKey, String(process.pid), 'PX', this.config.webhooks.pollMs * 5, 'NX');
    if (held !== 'OK') return;
    try {
      const stored = await this.redis.get(this.cursorKey);
      let cursor = stored === null ? await this.repository.lastTransitionId() : BigInt(stored);
      if (stored === null) cursor -= REWIND;
      for (;;) {
        // The rewound window holds at most REWIND ids: with BATCH more, every poll gets past the cursor.
        const rows = await this.repository.transitionsAfter(cursor > REWIND ? cursor - REWIND : 0n, Number(REWIND) + BATCH);
        for (const row of rows) {
          const wanted: readonly string[] = row.events.length > 0 ? row.events : FINAL_STATUSES;
          if (!wanted.includes(row.status)) continue;
          await this.queue.add(
            'deliver',
            { jobId: row.jobId, transitionId: String(row.id), event: row.status },
            {
              jobId: `wh-${row.id}`,
              attempts: this.config.webhooks.attempts,
              backoff: { type: 'exponential', delay: this.config.webhooks.backoffMs },
              removeOnComplete: { age: 86_400 },
              removeOnFail: { age: 7 * 86_400 },
            },
          );
        }
        const fresh = rows.filter((row) => row.id > cursor).length;
        const last = rows.at(-1)?.id;
        if (last !== undefined && last > cursor) {
          cursor = last;
          await this.redis.set(this.cursorKey, String(cursor));
        }
        if (fresh < BATCH) return;
      }
    } finally {
      await this.redis.del(this.lockKey);
    }
  }

  /** One attempt of a delivery; throws to have BullMQ retry it later. */
  private async deliver(entry: QueueJob<WebhookDeliveryPayload>): Promise<void> {
    const { jobId, transitionId, event } = entry.data;
    const job = await this.repository.jobForDelivery(jobId);
    if (!job?.webhookUrl) return; // deleted meanwhile
    const body = JSON.stringify(toJobView(job));
    const outcome = await sendWebhook({
      url: job.webhookUrl,
      body,
      secret: job.webhookSecret,
      event,
      deliveryId: `${jobId}.${transitionId}`,
      timeoutMs: this.config.webhooks.timeoutMs,
      allowPrivate: this.config.webhooks.allowPrivate,
    });
    await this.repository.recordAttempt({
      jobId,
      event: event as JobStatus,
      attempt: entry.attemptsMade + 1,
      url: job.webhookUrl,
      statusCode: outcome.statusCode,
      ok: outcome.ok,
      error: outcome.error,
      durationMs: outcome.durationMs,
    });
    if (outcome.ok) return;
    if (outcome.refused) throw new UnrecoverableError(outcome.error ?? 'refused');
    throw new Error(outcome.error ?? 'failed');
  }
}
