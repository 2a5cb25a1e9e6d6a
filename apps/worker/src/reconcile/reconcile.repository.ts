import { Inject, Injectable } from '@nestjs/common';
import { changeJobStatus, JobStatus, type PrismaClient } from '@mpiaas/db';
import { PRISMA } from '../common/prisma.provider';

/** Where a page of a keyset scan ended; the next page starts after it. */
export interface ScanPosition {
  createdAt: Date;
  id: string;
}

export type QueuedJob = ScanPosition;

export interface RunningJob extends ScanPosition {
  /** Claims so far: the attempt a retry would follow. */
  attempts: number;
}

/** The reconciler's reads and writes in Postgres (the source of truth it holds the queue to). */
@Injectable()
export class ReconcileRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Jobs QUEUED and unchanged since `before`, oldest first, after `after`. */
  async queuedPage(before: Date, after: ScanPosition | undefined, take: number): Promise<QueuedJob[]> {
    return this.prisma.job.findMany({
      where: { status: JobStatus.QUEUED, updatedAt: { lt: before }, ...afterPosition(after) },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, createdAt: true },
      take,
    });
  }

  /** Jobs RUNNING that their leader (which touches them every 2 s) has not touched since `before`. */
  async staleRunningPage(before: Date, after: ScanPosition | undefined, take: number): Promise<RunningJob[]> {
    return this.prisma.job.findMany({
      where: { status: JobStatus.RUNNING, updatedAt: { lt: before }, ...afterPosition(after) },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, createdAt: true, attempts: true },
      take,
    });
  }

  /**
   * Hands a RUNNING job whose worker and queue entry are gone back to the queue for another
   * attempt — only if it is still that attempt and still untouched since `before`, so a
   * leader that came back to life, or another reconciler, wins instead.
   */
  async requeueLost(job: RunningJob, before: Date, reason: string): Promise<boolean> {
    return changeJobStatus(this.prisma, {
      jobId: job.id,
      from: [JobStatus.RUNNING],
      where: { attempts: job.attempts, updatedAt: { lt: before } },
      to: JobStatus.QUEUED,
      reason,
      data: { workerId: null },
    });
  }

  /**
   * Fails a job the queue is done with, if it is still `from` and untouched since `before`
   * (else someone moved it, and that move stands).
   */
  async failLost(jobId: string, from: JobStatus, before: Date, reason: string): Promise<boolean> {
    return changeJobStatus(this.prisma, { jobId, from: [from], where: { updatedAt: { lt: before } }, to: JobStatus.FAILED, reason });
  }
}

function afterPosition(after: ScanPosition | undefined) {
  return after ? { OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] } : {};
}
