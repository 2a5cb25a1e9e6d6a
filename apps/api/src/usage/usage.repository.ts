import { Inject, Injectable } from '@nestjs/common';
import { PrismaClient } from '@mpiaas/db';

export interface ActiveCounts {
  queued: { jobs: number; ranks: number };
  running: { jobs: number; ranks: number };
}

/** What a tenant's jobs use, read from the jobs table. */
@Injectable()
export class UsageRepository {
  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  async activeCounts(tenantId: string): Promise<ActiveCounts> {
    const rows = await this.db.$queryRaw<{ status: string; jobs: bigint; ranks: bigint }[]>`
      SELECT status::text AS status, count(*) AS jobs, sum(np) AS ranks FROM jobs
      WHERE tenant_id = ${tenantId}::uuid AND status IN ('QUEUED', 'RUNNING') GROUP BY status`;
    const of = (status: string) => {
      const row = rows.find((r) => r.status === status);
      return { jobs: Number(row?.jobs ?? 0), ranks: Number(row?.ranks ?? 0) };
    };
    return { queued: of('QUEUED'), running: of('RUNNING') };
  }

  /**
   * np × seconds run since `from`, of every job that ran then: a run that began before
   * `from` counts from `from`, one still running up to now. (A retried job counts from its
   * last start.)
   */
  async rankSecondsSince(tenantId: string, from: Date): Promise<number> {
    const [row] = await this.db.$queryRaw<{ total: number | null }[]>`
      SELECT sum(np * extract(epoch FROM coalesce(finished_at, now()) - greatest(started_at, ${from})))::float8 AS total
      FROM jobs
      WHERE tenant_id = ${tenantId}::uuid AND started_at IS NOT NULL AND coalesce(finished_at, now()) > ${from}`;
    return Math.round((row?.total ?? 0) * 1000) / 1000;
  }
}
