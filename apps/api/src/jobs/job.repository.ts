import { Inject, Injectable } from '@nestjs/common';
import { changeJobStatus, type Job, JobStatus, type JobRank, type JobTransition, type Launcher, type Placement, Prisma, PrismaClient } from '@mpiaas/db';
import type pg from 'pg';
import { PG_POOL } from '../database/pg-pool';
import type { JobListPosition } from './job-list-cursor';
import type { JobWithRanks } from './job-view.mapper';

/** A job as submitted, defaults applied. */
export interface NewJob {
  script: string;
  np: number;
  args: string[];
  env: Record<string, string>;
  timeoutSeconds: number;
  name: string | null;
  labels: Record<string, string>;
  placement: Placement;
  oversubscribe: boolean;
  launcher: Launcher;
  /** Where status changes are POSTed; null: nowhere. */
  webhook: { url: string; secret: string | null; events: string[] } | null;
}

/** A job admitted for a tenant, under the id its request will find it by. */
export interface NewQueuedJob {
  id: string;
  tenantId: string;
  job: NewJob;
}

export interface JobListQuery {
  tenantId: string;
  status?: JobStatus;
  after?: JobListPosition;
  take: number;
}

/** Every column of `jobs`, named as the Prisma model names them (for raw queries). */
const JOB_COLUMNS = Object.entries({
  id: 'id',
  tenantId: 'tenant_id',
  name: 'name',
  labels: 'labels',
  status: 'status',
  reason: 'reason',
  np: 'np',
  script: 'script',
  args: 'args',
  env: 'env',
  timeoutSeconds: 'timeout_seconds',
  placement: 'placement',
  oversubscribe: 'oversubscribe',
  launcher: 'launcher',
  exitCode: 'exit_code',
  failedRank: 'failed_rank',
  stderrTail: 'stderr_tail',
  diagnosis: 'diagnosis',
  result: 'result',
  resultError: 'result_error',
  filesDropped: 'files_dropped',
  filesExpiredAt: 'files_expired_at',
  webhookUrl: 'webhook_url',
  webhookSecret: 'webhook_secret',
  webhookEvents: 'webhook_events',
  profile: 'profile',
  idempotencyKey: 'idempotency_key',
  requestHash: 'request_hash',
  attempts: 'attempts',
  workerId: 'worker_id',
  cancelRequested: 'cancel_requested',
  createdAt: 'created_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  updatedAt: 'updated_at',
} satisfies Record<keyof Job, string>)
  .map(([field, column]) => `${column} AS "${field}"`)
  .join(', ');

/** createQueuedMany's statement: the jobs as one JSON parameter ($1). */
const CREATE_MANY_SQL = `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
      ord int, id uuid, tenant_id uuid, name text, labels jsonb, np int, script text, args jsonb, env jsonb,
      timeout_seconds int, placement placement, oversubscribe boolean, launcher launcher,
      webhook_url text, webhook_secret text, webhook_events jsonb)
  ), job AS (
    INSERT INTO jobs (id, tenant_id, name, labels, np, script, args, env, timeout_seconds, placement, oversubscribe, launcher,
                      webhook_url, webhook_secret, webhook_events, updated_at)
    SELECT id, tenant_id, name, labels, np, script, ARRAY(SELECT jsonb_array_elements_text(args)), env, timeout_seconds,
           placement, oversubscribe, launcher, webhook_url, webhook_secret, ARRAY(SELECT jsonb_array_elements_text(webhook_events)), now()
    FROM input ORDER BY ord
    RETURNING *
  ), transition AS (
    INSERT INTO job_transitions (job_id, status) SELECT id, 'QUEUED' FROM job
  )
  SELECT ${JOB_COLUMNS} FROM job`;

/**
 * Takes the tenant's queue lock until the end of the transaction. Every admission that counts
 * a tenant's QUEUED jobs in Postgres holds it from the count to the commit of its insert, so
 * that two api replicas counting at once cannot both admit the last room: the second counts
 * after the first has committed (each statement of a transaction sees what was committed
 * before it began, at READ COMMITTED).
 */
const TENANT_QUEUE_LOCK_SQL = `SELECT 1 FROM pg_advisory_xact_lock(hashtext('mpiaas.queued'), hashtext($1::text))`;
const COUNT_QUEUED_SQL = `SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE tenant_id = $1::uuid AND status = 'QUEUED' LIMIT $2) AS queued`;

const WITH_RANKS = { ranks: { orderBy: { rank: 'asc' } } } satisfies Prisma.JobInclude;
const NEWEST_FIRST = [{ createdAt: 'desc' }, { id: 'desc' }] satisfies Prisma.JobOrderByWithRelationInput[];

/** The Job aggregate in Postgres: jobs, their ranks and their status transitions. */
@Injectable()
export class JobRepository {
  constructor(
    @Inject(PrismaClient) private readonly db: PrismaClient,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /**
   * Inserts a QUEUED job of `tenant` with its first transition in one SQL statement (one round
   * trip, one implicit transaction), unless the tenant already has `maxQueued` jobs QUEUED:
   * then nothing is inserted and null returned. The hot path of POST /jobs: Prisma's nested
   * create costs six round trips and several milliseconds of client CPU; this costs one.
   * Requests of one tenant running at the same instant may each see room for one more, so
   * the quota can be overshot by the requests in flight, never by more.
   */
  async createQueued(
    job: NewJob,
    tenant: { id: string; maxQueued: number },
    idempotency?: { key: string; requestHash: string },
  ): Promise<JobWithRanks | null> {
    const [, [created]] = await this.db.$transaction([
      this.db.$queryRawUnsafe(TENANT_QUEUE_LOCK_SQL, tenant.id),
      this.db.$queryRaw<Job[]>`
      WITH job AS (
        INSERT INTO jobs (tenant_id, name, labels, np, script, args, env, timeout_seconds, placement, oversubscribe, launcher,
                          idempotency_key, request_hash, webhook_url, webhook_secret, webhook_events, updated_at)
        SELECT ${tenant.id}::uuid, ${job.name}, ${JSON.stringify(job.labels)}::jsonb, ${job.np}, ${job.script}, ${job.args}::text[],
               ${JSON.stringify(job.env)}::jsonb, ${job.timeoutSeconds}, ${job.placement}::placement, ${job.oversubscribe}, ${job.launcher}::launcher,
               ${idempotency?.key ?? null}, ${idempotency?.requestHash ?? null},
               ${job.webhook?.url ?? null}, ${job.webhook?.secret ?? null}, ${job.webhook?.events ?? []}::text[], now()
        WHERE (SELECT count(*) FROM (SELECT 1 FROM jobs WHERE tenant_id = ${tenant.id}::uuid AND status = 'QUEUED'
                                     LIMIT ${tenant.maxQueued}) AS queued) < ${tenant.maxQueued}
        RETURNING *
      ), transition AS (
        INSERT INTO job_transitions (job_id, status) SELECT id, 'QUEUED' FROM job
      )
      SELECT ${Prisma.raw(JOB_COLUMNS)} FROM job`,
    ]);
    return created ? { ...created, ranks: [] } : null;
  }

  /**
   * Inserts QUEUED jobs already admitted (their tenants' room was checked before) with their
   * first transitions, in one SQL statement whatever their number: one round trip and one
   * commit for the jobs of many concurrent requests. The rows travel as one JSON parameter;
   * ids are the caller's, so that each request finds its own row. Returned in input order.
   */
  async createQueuedMany(jobs: readonly NewQueuedJob[]): Promise<JobWithRanks[]> {
    // Through pg, not Prisma: see PG_POOL. The rows come back as Prisma's would (pg parses
    // timestamps, jsonb, arrays and enums alike).
    const { rows: created } = await this.pool.query<Job>(CREATE_MANY_SQL, [insertParameter(jobs)]);
    return inInputOrder(jobs, created);
  }

  /**
   * createQueuedMany for one tenant's jobs if its QUEUED jobs leave room for all of them,
   * counted exactly under the tenant's queue lock (see TENANT_QUEUE_LOCK_SQL); `rows` is null
   * when they do not. `queued`: how many the count found before these.
   */
  async createQueuedManyIfRoom(jobs: readonly NewQueuedJob[], tenant: { id: string; maxQueued: number }): Promise<{ rows: JobWithRanks[] | null; queued: number }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(TENANT_QUEUE_LOCK_SQL, [tenant.id]);
      const { rows: counted } = await client.query<{ n: string }>(COUNT_QUEUED_SQL, [tenant.id, tenant.maxQueued]);
      const queued = Number(counted[0]?.n ?? 0);
      if (queued + jobs.length > tenant.maxQueued) {
        await client.query('ROLLBACK');
        return { rows: null, queued };
      }
      const { rows: created } = await client.query<Job>(CREATE_MANY_SQL, [insertParameter(jobs)]);
      await client.query('COMMIT');
      return { rows: inInputOrder(jobs, created), queued };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** QUEUED jobs of a tenant, counted up to `upTo` (what a quota message needs). */
  async countQueued(tenantId: string, upTo: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(COUNT_QUEUED_SQL, [tenantId, upTo]);
    return Number(rows[0]?.n ?? 0);
  }

  /** The job if `tenantId` owns it: another tenant's job is as absent as an unknown one. */
  async findOwned(id: string, tenantId: string): Promise<JobWithRanks | null> {
    return this.db.job.findFirst({ where: { id, tenantId }, include: WITH_RANKS });
  }

  async findById(id: string): Promise<JobWithRanks | null> {
    return this.db.job.findUnique({ where: { id }, include: WITH_RANKS });
  }

  async findByIdempotencyKey(tenantId: string, key: string): Promise<JobWithRanks | null> {
    return this.db.job.findUnique({ where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } }, include: WITH_RANKS });
  }

  /** The status fields only: what event streams poll. */
  async findStatus(id: string): Promise<Pick<Job, 'status' | 'exitCode'> | null> {
    return this.db.job.findUnique({ where: { id }, select: { status: true, exitCode: true } });
  }

  async findRank(jobId: string, rank: number): Promise<JobRank | null> {
    return this.db.jobRank.findUnique({ where: { jobId_rank: { jobId, rank } } });
  }

  /** Newest first, keyset-paginated on (createdAt, id). */
  async list(query: JobListQuery): Promise<JobWithRanks[]> {
    const { after } = query;
    return this.db.job.findMany({
      where: {
        tenantId: query.tenantId,
        status: query.status,
        ...(after && {
          OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
        }),
      },
      orderBy: NEWEST_FIRST,
      take: query.take,
      include: WITH_RANKS,
    });
  }

  async transitionsAfter(jobId: string, afterId: bigint, take: number): Promise<JobTransition[]> {
    return this.db.jobTransition.findMany({ where: { jobId, id: { gt: afterId } }, orderBy: { id: 'asc' }, take });
  }

  async lastTransition(jobId: string): Promise<JobTransition | null> {
    return this.db.jobTransition.findFirst({ where: { jobId }, orderBy: { id: 'desc' } });
  }

  /**
   * Moves a job from `from` to the final status `to` with a transition, only if it is still
   * in `from` (a worker may have moved it meanwhile). False when it was not.
   */
  async finishIf(id: string, from: JobStatus, to: JobStatus, reason: string): Promise<boolean> {
    return changeJobStatus(this.db, { jobId: id, from: [from], to, reason });
  }

  /** Flags a RUNNING job for its worker to cancel; false when it is not running. */
  async requestCancel(id: string): Promise<boolean> {
    const { count } = await this.db.job.updateMany({
      where: { id, status: JobStatus.RUNNING },
      data: { cancelRequested: true },
    });
    return count === 1;
  }
}

/** Whether `error` is the unique violation of `jobs.idempotency_key` (a concurrent replay). */
export function isIdempotencyKeyConflict(error: unknown): boolean {
  // P2002 from a model query, P2010 (with the driver's UniqueConstraintViolation) from a raw one.
  if (!(error instanceof Prisma.PrismaClientKnownRequestError) || !['P2002', 'P2010'].includes(error.code)) return false;
  const target = JSON.stringify(error.meta ?? {});
  if (error.code === 'P2010' && !target.includes('UniqueConstraintViolation')) return false;
  return target.includes('idempotency');
}

/** CREATE_MANY_SQL's one parameter: the rows as JSON, numbered in input order. */
function insertParameter(jobs: readonly NewQueuedJob[]): string {
  return JSON.stringify(
    jobs.map(({ id, tenantId, job }, ord) => ({
      ord,
      id,
      tenant_id: tenantId,
      name: job.name,
      labels: job.labels,
      np: job.np,
      script: job.script,
      args: job.args,
      env: job.env,
      timeout_seconds: job.timeoutSeconds,
      placement: job.placement,
      oversubscribe: job.oversubscribe,
      launcher: job.launcher,
      webhook_url: job.webhook?.url ?? null,
      webhook_secret: job.webhook?.secret ?? null,
      webhook_events: job.webhook?.events ?? [],
    })),
  );
}

/** The inserted rows in the order of the jobs asked for. */
function inInputOrder(jobs: readonly NewQueuedJob[], created: readonly Job[]): JobWithRanks[] {
  const byId = new Map(created.map((row) => [row.id, row]));
  return jobs.map(({ id }) => {
    const row = byId.get(id);
    if (!row) throw new Error(`job ${id} was not returned by its insert`);
    return { ...row, ranks: [] };
  });
}
