import { Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '@mpiaas/contracts';
import { GangScheduler } from './gang-scheduler';

/**
 * Wakes the jobs at the head of the line when slots come free. A job that could not be
 * placed waits in BullMQ's delayed set (up to 2 s when far back in line); without this the
 * freed slots would idle until its delay ran out.
 */
@Injectable()
export class WaitingJobs {
  private readonly logger = new Logger(WaitingJobs.name);

  constructor(
    @InjectQueue(QueueName.MpiJobs) private readonly queue: Queue,
    private readonly scheduler: GangScheduler,
  ) {}

  /** Moves the first `count` waiting jobs in line from delayed to waiting (best effort). */
  async wake(count: number): Promise<void> {
    try {
      const ids = await this.scheduler.connection.zrange(this.scheduler.keys.pending, 0, Math.max(0, count - 1));
      await Promise.all(
        ids.map(async (id) => {
          const job = await this.queue.getJob(id);
          // Only a delayed job can be promoted; one already waiting or taken needs nothing.
          if (job && (await job.isDelayed())) await job.promote().catch(() => undefined);
        }),
      );
    } catch (error) {
      this.logger.debug(`waking waiting jobs: ${(error as Error).message}`);
    }
  }
}
