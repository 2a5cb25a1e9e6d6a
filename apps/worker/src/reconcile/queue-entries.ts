import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { MpiJobName, QueueName, RUN_JOB_OPTIONS, type RunJobPayload } from '@mpiaas/contracts';
import { GangScheduler } from '../placement/gang-scheduler';

/**
 * What the queue holds of a job: nothing (lost with Redis' data, evicted, never added), an
 * entry it is done with (completed or failed: adding the id again is a no-op while it is
 * kept), or one it will still run or re-run (waiting, delayed, active).
 */
export type QueueEntry = 'absent' | 'completed' | 'failed' | 'held';

/** The queue side of reconciling: reads many jobs' entries at once, re-adds lost ones. */
@Injectable()
export class QueueEntries {
  constructor(
    @InjectQueue(QueueName.MpiJobs) private readonly queue: Queue<RunJobPayload>,
    private readonly scheduler: GangScheduler,
  ) {}

  /**
   * One pipelined round trip for all `ids` (a pass may look at thousands of waiting jobs;
   * BullMQ's getJobState is a script call per job): the entry's hash, and whether the id is
   * in the completed or failed set.
   */
  async of(ids: readonly string[]): Promise<Map<string, QueueEntry>> {
    const entries = new Map<string, QueueEntry>();
    if (ids.length === 0) return entries;
    const [completedKey, failedKey] = [this.queue.toKey('completed'), this.queue.toKey('failed')];
    const pipeline = this.scheduler.connection.pipeline();
    for (const id of ids) pipeline.exists(this.queue.toKey(id)).zscore(completedKey, id).zscore(failedKey, id);
    const replies = (await pipeline.exec()) ?? [];
    ids.forEach((id, index) => {
      const [exists, completed, failed] = [0, 1, 2].map((offset) => {
        const [error, value] = replies[3 * index + offset] ?? [new Error('no reply')];
        if (error) throw error;
        return value;
      });
      entries.set(id, exists === 0 ? 'absent' : completed !== null ? 'completed' : failed !== null ? 'failed' : 'held');
    });
    return entries;
  }

  /**
   * Adds the job's run again, exactly as the api does (same id, same options). Idempotent:
   * an id the queue holds in any state is left as it is, so racing reconcilers, or the api's
   * own late enqueue, still make one entry.
   */
  async add(jobId: string): Promise<void> {
    await this.queue.add(MpiJobName.Run, { jobId }, { ...RUN_JOB_OPTIONS, jobId });
  }
}
