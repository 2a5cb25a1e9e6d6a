import { JobStatus, Prisma, type PrismaClient } from './generated/prisma/client.js';

/**
 * One status change of one job. Conditional: it happens only while the job is in one of
 * `from` (and matches `where`), so the api and every worker may race for a job and exactly
 * one of them moves it — the others learn it from the false answer.
 */
export interface JobStatusChange {
  jobId: string;
  from: readonly JobStatus[];
  to: JobStatus;
  /** Why: stored on the job and on its transition (what GET /jobs/{id} and events show). */
  reason?: string | null;
  /** Further conditions, such as the attempt that must still be current (fencing). */
  where?: Prisma.JobWhereInput;
  /** Further columns to set with the status; they win over the defaults (`reason`, `finishedAt`). */
  data?: Prisma.JobUpdateManyMutationInput;
  /** The transition's reason when it differs from the job's (a retry names its attempt, the job shows none). */
  transitionReason?: string | null;
}

const FINAL: readonly JobStatus[] = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.CANCELLED];

/**
 * The only way a job's status changes after its creation: the job row and the
 * `job_transitions` row that status events are read from (GET /jobs/{id}/events) are written
 * together, so no follower misses or invents a change. A final status gets its `finishedAt`.
 *
 * `db` is a client (the change gets a transaction of its own) or the transaction of a larger
 * change (the worker's claim clears the earlier attempt's rows in the same one). True when the
 * job moved; false when it was not in `from` (someone else moved it first) or did not exist.
 */
export async function changeJobStatus(db: PrismaClient | Prisma.TransactionClient, change: JobStatusChange): Promise<boolean> {
  if ('$transaction' in db) return db.$transaction((tx) => changeWithin(tx, change));
  return changeWithin(db, change);
}

async function changeWithin(tx: Prisma.TransactionClient, change: JobStatusChange): Promise<boolean> {
  const reason = change.reason ?? null;
  const { count } = await tx.job.updateMany({
    where: { ...change.where, id: change.jobId, status: { in: [...change.from] } },
    data: {
      status: change.to,
      reason,
      ...(FINAL.includes(change.to) && { finishedAt: new Date() }),
      ...change.data,
    },
  });
  if (count === 0) return false;
  const transitionReason = change.transitionReason === undefined ? reason : change.transitionReason;
  await tx.jobTransition.create({ data: { jobId: change.jobId, status: change.to, reason: transitionReason } });
  return true;
}
