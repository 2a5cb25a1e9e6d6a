import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { TenantQuotas } from '@mpiaas/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { BacklogGauge } from './backlog-gauge';
import { QuotaExceededException } from './quota-exceeded.exception';

/**
 * Retry-After of a quota that waiting does not cure (np, time limit): a client that retries
 * anyway is told to wait long; the message says to ask for a higher quota.
 */
const RETRY_STATIC_SECONDS = 3600;
/** Retry-After when the tenant's queue is full: about how long short jobs take to leave it. */
const RETRY_QUEUED_SECONDS = 10;
/** Retry-After when the cluster's backlog is full. */
const RETRY_BACKLOG_SECONDS = 30;

/** What admission needs to know of a job. */
export interface JobSize {
  np: number;
  timeoutSeconds: number;
}

/**
 * Whether POST /jobs may queue a job: the tenant's hard quotas (429) and the cluster's
 * backlog (503). maxQueuedJobs is checked where jobs are stored (SubmissionBatcher, with
 * QueuedJobsEstimate; JobRepository.createQueued), which calls queuedJobsFull when it refuses; maxRunningRanks is the workers' (a job past it
 * waits), except that a job larger than it could never start and is refused here.
 */
@Injectable()
export class Admission {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly backlog: BacklogGauge,
  ) {}

  async admit(quotas: TenantQuotas, job: JobSize): Promise<void> {
    this.checkSize(quotas, job);
    const queued = await this.backlog.queuedRanks();
    const cap = this.config.backlogMaxQueuedRanks;
    if (queued + job.np > cap) {
      throw new QuotaExceededException(
        `backlogMaxQueuedRanks exceeded, the service's backlog is full: ${queued} ranks queued, this job would make ${queued + job.np}, cap ${cap}; try again later`,
        { quota: 'backlogMaxQueuedRanks', limit: cap, used: queued },
        RETRY_BACKLOG_SECONDS,
        HttpStatus.SERVICE_UNAVAILABLE,
      );
    }
  }

  queuedJobsFull(quotas: TenantQuotas, used: number): QuotaExceededException {
    return new QuotaExceededException(
      `quota maxQueuedJobs exceeded: ${used} jobs queued, limit ${quotas.maxQueuedJobs}; submit again once some have started`,
      { quota: 'maxQueuedJobs', limit: quotas.maxQueuedJobs, used },
      RETRY_QUEUED_SECONDS,
    );
  }

  private checkSize(quotas: TenantQuotas, job: JobSize): void {
    const tooLarge = (quota: 'maxNp' | 'maxRunningRanks' | 'maxTimeoutSeconds', value: number, what: string) =>
      new QuotaExceededException(
        `quota ${quota} exceeded: ${what} ${value}, limit ${quotas[quota]}; ask an administrator for a higher quota`,
        { quota, limit: quotas[quota], used: value },
        RETRY_STATIC_SECONDS,
      );
    if (job.np > quotas.maxNp) throw tooLarge('maxNp', job.np, 'np');
    // Such a job would wait for ever: refuse it now rather than queue it.
    if (job.np > quotas.maxRunningRanks) throw tooLarge('maxRunningRanks', job.np, 'np');
    if (job.timeoutSeconds > quotas.maxTimeoutSeconds) throw tooLarge('maxTimeoutSeconds', job.timeoutSeconds, 'timeoutSeconds');
  }
}
