import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '@mpiaas/db';
import { PRISMA } from '../common/prisma.provider';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

/** The tenant of a job and how many ranks its jobs may run at once. */
export interface TenantRankLimit {
  tenantId: string;
  maxRunningRanks: number;
}

/**
 * How long a job's answer is reused: a waiting job asks to be placed every 0.25-2 s, so this
 * spares a query per ask; a quota changed by an admin applies within it.
 */
const CACHE_MS = 5000;
const CACHE_SIZE = 10_000;

/**
 * The running-ranks quota of a job's tenant, for placement: read from Postgres (the tenant's
 * own, else TENANT_MAX_RUNNING_RANKS) rather than carried in the queue entry, so a job queued
 * before a quota change, or re-queued by the reconciler, is placed under the quota in force.
 */
@Injectable()
export class TenantRankQuota {
  private readonly cache = new Map<string, { at: number; limit: Promise<TenantRankLimit | undefined> }>();

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(PRISMA) private readonly db: PrismaClient,
  ) {}

  /** A limit just read with the job's spec: its next asks within CACHE_MS need no query. */
  remember(jobId: string, limit: TenantRankLimit): void {
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(jobId, { at: Date.now(), limit: Promise.resolve(limit) });
  }

  of(jobId: string): Promise<TenantRankLimit | undefined> {
    const now = Date.now();
    const cached = this.cache.get(jobId);
    if (cached && now - cached.at < CACHE_MS) return cached.limit;
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    const limit = this.read(jobId);
    this.cache.set(jobId, { at: now, limit });
    limit.catch(() => this.cache.delete(jobId));
    return limit;
  }

  private async read(jobId: string): Promise<TenantRankLimit | undefined> {
    const job = await this.db.job.findUnique({
      where: { id: jobId },
      select: { tenantId: true, tenant: { select: { maxRunningRanks: true } } },
    });
    if (!job) return undefined;
    return { tenantId: job.tenantId, maxRunningRanks: job.tenant.maxRunningRanks ?? this.config.TENANT_MAX_RUNNING_RANKS };
  }
}
