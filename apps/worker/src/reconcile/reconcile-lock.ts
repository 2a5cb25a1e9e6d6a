import { Inject, Injectable } from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { GangScheduler } from '../placement/gang-scheduler';

/**
 * One reconcile pass per period across all workers. Not needed for correctness (every write
 * of a pass is conditional or idempotent) but for cost: each pass reads every waiting job.
 * Never released: it expires, so a holder that dies mid-pass blocks nobody for long.
 */
@Injectable()
export class ReconcileLock {
  private readonly key: string;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly scheduler: GangScheduler,
  ) {
    this.key = `${config.QUEUE_PREFIX}:reconcile-lock`;
  }

  /** True when this worker holds the period's pass. */
  async take(ttlMs: number): Promise<boolean> {
    return (await this.scheduler.connection.set(this.key, this.config.WORKER_ID, 'PX', ttlMs, 'NX')) === 'OK';
  }
}
