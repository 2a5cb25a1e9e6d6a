import { Injectable } from '@nestjs/common';
import type { UsageView } from '@mpiaas/contracts';
import type { Caller } from '../auth/caller';
import { UsageRepository } from './usage.repository';

@Injectable()
export class UsageService {
  constructor(private readonly usage: UsageRepository) {}

  /** The caller's tenant now; days and months are UTC. */
  async of(caller: Caller, now = new Date()): Promise<UsageView> {
    const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const [active, daySeconds, monthSeconds] = await Promise.all([
      this.usage.activeCounts(caller.tenantId),
      this.usage.rankSecondsSince(caller.tenantId, day),
      this.usage.rankSecondsSince(caller.tenantId, month),
    ]);
    return { tenantId: caller.tenantId, ...active, rankSeconds: { day: daySeconds, month: monthSeconds }, quotas: caller.quotas };
  }
}
