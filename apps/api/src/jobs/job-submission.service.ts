import { BadRequestException, ConflictException, Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { JobStatus } from '@mpiaas/db';
import type { JobView } from '@mpiaas/contracts';
import type { Caller } from '../auth/caller';
import { requestLine } from '../common/logger';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { Admission } from '../quotas/admission';
import { JobQueue } from '../queue/job-queue';
import { JobsService } from './jobs.service';
import type { CreateJobDto } from './dto/create-job.dto';
import { isIdempotencyKeyConflict, JobRepository, type NewJob } from './job.repository';
import type { JobWithRanks } from './job-view.mapper';
import { requestHash } from './request-hash';
import { SubmissionBatcher } from './submission-batcher';
import { resolveWebhookTarget, WebhookRefused } from '../webhooks/webhook-address';

export interface Submission {
  job: JobView;
  /** False when an Idempotency-Key replay returned the job made earlier. */
  created: boolean;
}

/** POST /jobs: store the job, then hand it to the queue. */
@Injectable()
export class JobSubmissionService {
  private readonly logger = new Logger(JobSubmissionService.name);

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly jobs: JobRepository,
    private readonly queue: JobQueue,
    private readonly views: JobsService,
    private readonly admission: Admission,
    private readonly batcher: SubmissionBatcher,
  ) {}

  async submit(request: CreateJobDto, caller: Caller, correlationId: string, idempotencyKey?: string): Promise<Submission> {
    const job = this.withDefaults(request, caller);
    if (job.webhook) await this.checkWebhook(job.webhook.url);
    if (idempotencyKey === undefined) return { job: await this.createAndEnqueue(job, caller, correlationId), created: true };

    // The default launcher is left out, so a key used before jobs had one still matches its replay.
    const hash = requestHash({ ...job, launcher: job.launcher === 'SCRIPT' ? undefined : job.launcher });
    // A replay is answered even over quota: its job was admitted the first time.
    const earlier = await this.jobs.findByIdempotencyKey(caller.tenantId, idempotencyKey);
    if (earlier) return this.replay(earlier, hash, correlationId);
    try {
      return { job: await this.createAndEnqueue(job, caller, correlationId, { key: idempotencyKey, requestHash: hash }), created: true };
    } catch (error) {
      // Two requests with one key raced; the other one inserted first.
      if (!isIdempotencyKeyConflict(error)) throw error;
      const winner = await this.jobs.findByIdempotencyKey(caller.tenantId, idempotencyKey);
      if (!winner) throw error;
      return this.replay(winner, hash, correlationId);
    }
  }

  /** The default time limit is the tenant's maximum if that is lower (a job that sets none is never refused for it). */
  private withDefaults(request: CreateJobDto, caller: Caller): NewJob {
    return {
      script: request.script,
      np: request.np,
      args: request.args ?? [],
      env: request.env ?? {},
      timeoutSeconds: request.timeoutSeconds ?? Math.min(this.config.defaultTimeoutSeconds, caller.quotas.maxTimeoutSeconds),
      name: request.name ?? null,
      labels: request.labels ?? {},
      placement: request.placement === 'spread' ? 'SPREAD' : 'PACK',
      oversubscribe: request.oversubscribe ?? false,
      launcher: request.launcher === 'futures' ? 'FUTURES' : 'SCRIPT',
      webhook: request.webhook
        ? { url: request.webhook.url, secret: request.webhook.secret ?? null, events: [...new Set(request.webhook.events ?? [])] }
        : null,
    };
  }

  /**
   * A webhook whose host resolves to a private or loopback address is refused now (each
   * delivery checks again: DNS may change). A host that does not resolve yet is accepted.
   */
  private async checkWebhook(url: string): Promise<void> {
    if (this.config.webhooks.allowPrivate) return;
    try {
      await resolveWebhookTarget(new URL(url), false);
    } catch (error) {
      if (error instanceof WebhookRefused) throw new BadRequestException([`webhook.url: ${error.message}`]);
    }
  }

  private async createAndEnqueue(
    job: NewJob,
    caller: Caller,
    correlationId: string,
    idempotency?: { key: string; requestHash: string },
  ): Promise<JobView> {
    const { quotas } = caller;
    await this.admission.admit(quotas, job);
    let created: JobWithRanks;
    if (idempotency) {
      // Alone: a concurrent replay of its key must fail only this insert (isIdempotencyKeyConflict).
      const row = await this.jobs.createQueued(job, { id: caller.tenantId, maxQueued: quotas.maxQueuedJobs }, idempotency);
      if (!row) throw this.admission.queuedJobsFull(quotas, await this.jobs.countQueued(caller.tenantId, quotas.maxQueuedJobs));
      await this.enqueue(row, correlationId);
      created = row;
    } else {
      created = await this.batcher.submit(job, { id: caller.tenantId, quotas }, correlationId);
    }
    this.logger.log(requestLine(correlationId, `job ${created.id} queued (np=${created.np})`));
    const [view] = await this.views.views([created], true);
    return view as JobView;
  }

  private async replay(earlier: JobWithRanks, hash: string, correlationId: string): Promise<Submission> {
    if (earlier.requestHash !== hash) {
      throw new ConflictException('Idempotency-Key was already used with a different request');
    }
    // Covers a crash between insert and enqueue on the first attempt; BullMQ ignores an id it holds.
    if (earlier.status === JobStatus.QUEUED) await this.enqueue(earlier, correlationId);
    const [view] = await this.views.views([(await this.jobs.findById(earlier.id)) ?? earlier]);
    return { job: view as JobView, created: false };
  }

  /** A job that cannot be queued is failed, not left QUEUED forever. */
  private async enqueue(job: JobWithRanks, correlationId: string): Promise<void> {
    try {
      await this.queue.enqueueRun({ jobId: job.id, correlationId });
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error);
      this.logger.error(requestLine(correlationId, `job ${job.id} could not be queued: ${cause}`));
      await this.jobs.finishIf(job.id, JobStatus.QUEUED, JobStatus.FAILED, `could not be queued: ${cause}`);
      throw new ServiceUnavailableException(`job ${job.id} could not be queued, try again later`);
    }
  }
}
