import { Inject, Injectable } from '@nestjs/common';
import { CANCELLED_BY_USER } from '@mpiaas/contracts';
import { changeJobStatus, JobStatus, LogStream, type Job, type Placement, type PrismaClient } from '@mpiaas/db';
import type { JobOutcome } from '@mpiaas/runtime';
import type { OutputRecord } from '../logs/output-batcher';
import type { RankReport } from './share-order';
import type pg from 'pg';
import { PG_POOL } from '../common/pg-pool';
import { PRISMA } from '../common/prisma.provider';

/** What placement needs to know of a job. */
export interface JobSpec {
  np: number;
  timeoutSeconds: number;
  createdAt: Date;
  placement: Placement;
  oversubscribe: boolean;
  status: JobStatus;
  tenantId: string;
  /** The tenant's own running-ranks quota (null: the server's default). */
  maxRunningRanks: number | null;
}

export type ClaimResult =
  | { kind: 'claimed'; job: Job; retried: boolean }
  /** Gone, already final, or cancelled before it started: nothing to run. */
  | { kind: 'skipped'; why: string }
  /**
   * RUNNING under a leader that still leads it: not to be run twice, nor dropped — the
   * leader may yet give it up (its queue lock lost, it stops and lets go: letGo()).
   */
  | { kind: 'led'; by: string };

/**
 * A RUNNING job its leader has not touched for this long is no longer led, even if that
 * worker lives (it lost the job and could not let go): another attempt may start.
 */
const LEADER_SILENT_MS = 10_000;

/** The worker's access to the job records: every Prisma call of the worker is here. */
@Injectable()
export class JobExecutionRepository {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /** What placement needs to know of a job (undefined: no such job). */
  async specOf(jobId: string): Promise<JobSpec | undefined> {
    const { rows } = await this.pool.query<JobSpec>(
      `SELECT j.np, j.timeout_seconds AS "timeoutSeconds", j.created_at AS "createdAt", j.placement::text AS placement,
              j.oversubscribe, j.status::text AS status, j.tenant_id::text AS "tenantId", t.max_running_ranks AS "maxRunningRanks"
       FROM jobs j LEFT JOIN tenants t ON t.id = j.tenant_id WHERE j.id = $1::uuid`,
      [jobId],
    );
    return rows[0];
  }

  /** The job as a share of attempt `attempt` needs it, or undefined if that attempt is over. */
  async forShare(jobId: string, attempt: number): Promise<Job | undefined> {
    const job = await this.prisma.job.findFirst({ where: { id: jobId, attempts: attempt, status: JobStatus.RUNNING } });
    return job ?? undefined;
  }

  /**
   * Marks the job RUNNING, led by this worker, and creates its rank rows with the worker
   * each rank runs on. A job that was attempted before (a worker died or shut down) is
   * started afresh: what that attempt stored is cleared first, and the attempt count — the
   * fencing epoch every later write is checked against — moves on.
   */
  /**
   * Starts an attempt of the job. `stillLed(worker)` tells whether the worker recorded as
   * running it still does (it heartbeats, and leads it): a RUNNING job is taken over only
   * from a worker that is gone — never from one that goes on (two queue entries of one job,
   * after Redis lost the first and the reconciler added it again, must not run it twice).
   */
  async claim(
    jobId: string,
    workerId: string,
    rankWorkers: readonly string[],
    stillLed: (worker: string) => Promise<boolean> = async () => false,
  ): Promise<ClaimResult> {
    const first = await this.claimFirstAttempt(jobId, workerId, rankWorkers);
    if (first) return { kind: 'claimed', job: first, retried: false };
    return this.prisma.$transaction(async (tx) => {
      const [locked] = await tx.$queryRaw<{ status: JobStatus; cancel_requested: boolean; attempts: number; worker_id: string | null; touched: boolean }[]>`
        SELECT status, cancel_requested, attempts, worker_id, updated_at > now() - make_interval(secs => ${LEADER_SILENT_MS / 1000}::float8) AS touched
        FROM jobs WHERE id = ${jobId}::uuid FOR UPDATE`;
      if (!locked) return { kind: 'skipped', why: 'no such job' };
      if (locked.status !== JobStatus.QUEUED && locked.status !== JobStatus.RUNNING) {
        return { kind: 'skipped', why: `already ${locked.status}` };
      }
      // Led: its leader lives and touches it (every 2 s while it runs, JobRunner).
      if (locked.status === JobStatus.RUNNING && locked.worker_id && locked.touched && (await stillLed(locked.worker_id))) {
        return { kind: 'led', by: locked.worker_id };
      }
      const now = new Date();
      const from = [JobStatus.QUEUED, JobStatus.RUNNING];
      if (locked.cancel_requested) {
        await changeJobStatus(tx, { jobId, from, to: JobStatus.CANCELLED, reason: CANCELLED_BY_USER });
        return { kind: 'skipped', why: 'cancelled before it started' };
      }
      // An earlier attempt ran (its worker died, or shut down and requeued it): start clean.
      const retried = locked.attempts > 0;
      if (retried) {
        await tx.logChunk.deleteMany({ where: { jobId } });
        await tx.jobRank.deleteMany({ where: { jobId } });
        // Its output files and result too (the earlier attempt's objects, keyed by attempt, are left in the store).
        await tx.jobFile.deleteMany({ where: { jobId } });
        await tx.$executeRaw`UPDATE jobs SET result = NULL, result_error = NULL, files_dropped = 0 WHERE id = ${jobId}::uuid`;
      }
      await changeJobStatus(tx, {
        jobId,
        from,
        to: JobStatus.RUNNING,
        reason: null,
        transitionReason: retried ? `attempt ${locked.attempts + 1}: the previous one lost its worker` : null,
        data: { startedAt: now, workerId, attempts: { increment: 1 } },
      });
      const job = await tx.job.findUniqueOrThrow({ where: { id: jobId } });
      await tx.jobRank.createMany({
        data: Array.from({ length: job.np }, (_, rank) => ({ jobId, rank, startedAt: now, workerId: rankWorkers[rank] ?? null })),
      });
      return { kind: 'claimed', job, retried };
    });
  }

  /**
   * The common claim, a queued job's first attempt (not cancelled), as one statement: the job
   * RUNNING, its transition and its rank rows. Undefined when the job is in any other state;
   * claim() then takes the general way, in a transaction that reads the job first.
   */
  private async claimFirstAttempt(jobId: string, workerId: string, rankWorkers: readonly string[]): Promise<Job | undefined> {
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `WITH claimed AS (
         UPDATE jobs SET status = 'RUNNING', reason = NULL, started_at = now(), worker_id = $2, attempts = 1, updated_at = now()
         WHERE id = $1::uuid AND status = 'QUEUED' AND attempts = 0 AND NOT cancel_requested
         RETURNING *
       ), transition AS (
         INSERT INTO job_transitions (job_id, status, reason) SELECT id, 'RUNNING', NULL FROM claimed
       ), ranks AS (
         INSERT INTO job_ranks (job_id, rank, started_at, worker_id)
         SELECT claimed.id, r.rank, claimed.started_at, ($3::text[])[r.rank + 1]
         FROM claimed, generate_series(0, claimed.np - 1) AS r(rank)
       )
       SELECT * FROM claimed`,
      [jobId, workerId, rankWorkers],
    );
    return rows[0] ? jobOfRow(rows[0]) : undefined;
  }

  /**
   * One INSERT of many rows from arrays (unnest), through the pg pool: Prisma's createMany
   * spends ~25x more CPU per row compiling and interpreting the query, and output storage is
   * the worker's hot path.
   * A flush retried after a lost reply skips the rows that did land.
   *
   * Fenced: rows land only while `attempt` is the job's current attempt (a late write of a
   * lost attempt is dropped), and the job row's lock orders the inserts of the job's
   * workers, so log ids grow in commit order and a reader paging by id never skips a chunk.
   */
  async insertLogs(jobId: string, attempt: number, records: readonly OutputRecord[]): Promise<void> {
    await this.pool.query(
      `WITH fence AS (
         SELECT id FROM jobs WHERE id = $1::uuid AND attempts = $2 AND status = 'RUNNING' FOR NO KEY UPDATE
       )
       INSERT INTO log_chunks (job_id, rank, stream, seq, text)
       SELECT fence.id, rank, stream::log_stream, seq, text
       FROM fence, unnest($3::int[], $4::text[], $5::int[], $6::text[]) AS t(rank, stream, seq, text)
       ON CONFLICT (job_id, rank, stream, seq) DO NOTHING`,
      [
        jobId,
        attempt,
        records.map((r) => r.rank),
        records.map((r) => (r.stream === 'stdout' ? LogStream.STDOUT : LogStream.STDERR)),
        records.map((r) => r.seq),
        records.map((r) => r.text),
      ],
    );
  }

  async isCancelRequested(jobId: string): Promise<boolean> {
    const job = await this.prisma.job.findUnique({ where: { id: jobId }, select: { cancelRequested: true } });
    return job?.cancelRequested ?? false;
  }

  /**
   * Stores the outcome of attempt `attempt`: the job's final status with its transition, each
   * rank's exit and output totals. One statement (as changeJobStatus, conditional on the job
   * still RUNNING that attempt: a late or lost attempt changes nothing).
   */
  async finish(jobId: string, attempt: number, outcome: JobOutcome, reports: ReadonlyMap<number, RankReport>): Promise<void> {
    const reason = outcome.reason ?? null;
    const now = new Date().toISOString();
    const totals = outcome.ranks.map((rank) => reports.get(rank.rank) ?? { stdoutBytes: 0, stderrBytes: 0, truncated: false });
    const json = (value: unknown): string | null => (value ? JSON.stringify(value) : null);
    await this.pool.query(
      `WITH moved AS (
         UPDATE jobs SET status = $3::job_status, reason = $4, finished_at = now(), updated_at = now(),
           exit_code = $5, failed_rank = $6, stderr_tail = $7,
           diagnosis = COALESCE($8::jsonb, diagnosis), profile = COALESCE($9::jsonb, profile)
         WHERE id = $1::uuid AND status = 'RUNNING' AND attempts = $2
         RETURNING id
       ), transition AS (
         INSERT INTO job_transitions (job_id, status, reason) SELECT id, $3::job_status, $4 FROM moved
       )
       UPDATE job_ranks r
       SET exit_code = u.exit_code, signal = u.signal, finished_at = u.finished_at,
           stdout_bytes = u.stdout_bytes, stderr_bytes = u.stderr_bytes, truncated = u.truncated
       FROM moved, unnest($10::int[], $11::int[], $12::text[], $13::timestamptz[], $14::bigint[], $15::bigint[], $16::boolean[])
         AS u(rank, exit_code, signal, finished_at, stdout_bytes, stderr_bytes, truncated)
       WHERE r.job_id = moved.id AND r.rank = u.rank`,
      [
        jobId,
        attempt,
        outcome.status,
        reason,
        outcome.exitCode,
        outcome.failedRank ?? null,
        lastLines(outcome.stderrTail, STDERR_TAIL_LINES),
        json(outcome.diagnosis),
        json(outcome.profile),
        outcome.ranks.map((rank) => rank.rank),
        outcome.ranks.map((rank) => rank.exitCode),
        outcome.ranks.map((rank) => rank.signal),
        outcome.ranks.map((rank) => rank.finishedAt?.toISOString() ?? now),
        totals.map((t) => String(t.stdoutBytes)),
        totals.map((t) => String(t.stderrBytes)),
        totals.map((t) => t.truncated),
      ],
    );
  }

  /** Puts attempt `attempt` of a running job back in the queue's hands (a worker is going away). */
  async requeue(jobId: string, attempt: number, reason: string): Promise<void> {
    await changeJobStatus(this.prisma, {
      jobId,
      from: [JobStatus.RUNNING],
      where: { attempts: attempt },
      to: JobStatus.QUEUED,
      reason,
      data: { workerId: null },
    });
  }

  /** Fails a job that cannot run any more for reasons of the infrastructure, unless already final. */
  async failUnlessFinal(jobId: string, reason: string): Promise<boolean> {
    return changeJobStatus(this.prisma, { jobId, from: [JobStatus.QUEUED, JobStatus.RUNNING], to: JobStatus.FAILED, reason });
  }

  /**
   * The leader of `attempt` stopped it without an outcome (its queue lock was lost, the queue
   * may hand the job to anyone): it no longer leads it, so the next claim may start a new
   * attempt at once. Fenced: nothing changes once another attempt has begun.
   */
  async letGo(jobId: string, attempt: number, workerId: string): Promise<void> {
    await this.pool.query(
      `UPDATE jobs SET worker_id = NULL, updated_at = now() WHERE id = $1::uuid AND attempts = $2 AND status = 'RUNNING' AND worker_id = $3`,
      [jobId, attempt, workerId],
    );
  }

  /** Marks a running job as alive (the reconciler looks for jobs nobody touches). */
  async touch(jobId: string): Promise<void> {
    await this.prisma.job.updateMany({ where: { id: jobId, status: JobStatus.RUNNING }, data: { updatedAt: new Date() } });
  }
}

const STDERR_TAIL_LINES = 20;

/** A `jobs` row as SELECT * returns it, as Prisma's Job (columns are its fields in snake_case). */
function jobOfRow(row: Record<string, unknown>): Job {
  return Object.fromEntries(Object.entries(row).map(([column, value]) => [column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), value])) as unknown as Job;
}

/** The last `count` lines of `text`, or null when there is nothing to show. */
function lastLines(text: string | undefined, count: number): string | null {
  const trimmed = text?.trimEnd();
  return trimmed ? trimmed.split('\n').slice(-count).join('\n') : null;
}
