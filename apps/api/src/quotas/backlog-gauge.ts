import { Inject, Injectable } from '@nestjs/common';
import { PrismaClient } from '@mpiaas/db';

/** How long one count of the backlog is reused: POST /jobs is a hot path, the sum is not. */
const BACKLOG_CACHE_MS = 1000;

/**
 * Ranks of every tenant's QUEUED jobs together: the cluster's backlog. Read at most once a
 * second per api process, so the cap it guards may be overshot by a second's submissions —
 * it protects the cluster from a flood, not a tenant from another (their quotas do that).
 */
@Injectable()
export class BacklogGauge {
  private cached: { at: number; ranks: Promise<number> } | undefined;

  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  queuedRanks(): Promise<number> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > BACKLOG_CACHE_MS) {
      const ranks = this.count();
      this.cached = { at: now, ranks };
      ranks.catch(() => (this.cached = undefined));
    }
    return this.cached.ranks;
  }

  private async count(): Promise<number> {
    const [row] = await this.db.$queryRaw<{ ranks: bigint | null }[]>`SELECT sum(np) AS ranks FROM jobs WHERE status = 'QUEUED'`;
    return Number(row?.ranks ?? 0);
  }
}
