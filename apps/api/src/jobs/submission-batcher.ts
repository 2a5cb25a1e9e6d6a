import { randomUUID } from 'node:crypto';
import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { JobStatus } from '@mpiaas/db';
import type { TenantQuotas } from '@mpiaas/contracts';
import { Admission } from '../quotas/admission';
import { QueuedJobsEstimate } from '../quotas/queued-jobs-estimate';
import { JobQueue } from '../queue/job-queue';
import type { JobWithRanks } from './job-view.mapper';
import { JobRepository, type NewJob } from './job.repository';

/** Most jobs stored by one statement. */
const MAX_BATCH_JOBS = 256;
/** Most script bytes (UTF-16 code units, near enough) in one statement's parameter. */
const MAX_BATCH_CHARS = 8 * 1024 * 1024;
/**
 * Batches stored at the same time. Past it, submissions wait for one to end and go together
 * in the next: under load batches grow instead of statements multiplying.
 */
const MAX_BATCHES_IN_FLIGHT = 2;

interface Submission {
  id: string;
  tenantId: string;
  quotas: TenantQuotas;
  job: NewJob;
  correlationId: string;
  resolve: (job: JobWithRanks) => void;
  reject: (error: unknown) => void;
}

interface TenantTurns {
  /** Batches stored on the estimate's word, side by side. */
  shared: Set<Promise<unknown>>;
  /** The batch counting in Postgres, alone; settles when it is done. */
  exclusive: Promise<void> | undefined;
}

interface Stored {
  submission: Submission;
  row: JobWithRanks;
}

/**
 * Stores and queues the jobs of concurrent POST /jobs requests together: those arriving in
 * one turn of the event loop (and while earlier batches are in flight) make one INSERT of
 * jobs and transitions, one Redis call per tenant for its maxQueuedJobs room and one BullMQ
 * round trip for their queue entries, instead of one of each per request. A lone request
 * waits for nothing (the batch is sent at the end of the turn it arrived in).
 *
 * Each request still gets its own outcome: a job whose row cannot be stored fails alone
 * (the batch is retried one job at a time), a tenant without room for its share counts
 * exactly and answers 429 to the excess only, and jobs that cannot be queued are FAILED and
 * answer 503, never left QUEUED — as a single request would.
 */
@Injectable()
export class SubmissionBatcher {
  private readonly logger = new Logger(SubmissionBatcher.name);
  private waiting: Submission[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** Per tenant, its batches in flight in this process (see storeGroup). */
  private readonly turns = new Map<string, TenantTurns>();

  constructor(
    private readonly jobs: JobRepository,
    private readonly queue: JobQueue,
    private readonly admission: Admission,
    private readonly estimate: QueuedJobsEstimate,
  ) {}

  /**
   * Stores `job` as QUEUED for the tenant if its maxQueuedJobs quota has room, and queues it;
   * resolves with its row once both are done. The other quotas are the caller's to check first.
   */
  submit(job: NewJob, tenant: { id: string; quotas: TenantQuotas }, correlationId: string): Promise<JobWithRanks> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ id: randomUUID(), tenantId: tenant.id, quotas: tenant.quotas, job, correlationId, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_BATCHES_IN_FLIGHT || this.waiting.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sendNext();
    });
  }

  private sendNext(): void {
    if (this.inFlight >= MAX_BATCHES_IN_FLIGHT || this.waiting.length === 0) return;
    let count = 0;
    let chars = 0;
    while (count < this.waiting.length && count < MAX_BATCH_JOBS) {
      chars += this.waiting[count]!.job.script.length;
      if (count > 0 && chars > MAX_BATCH_CHARS) break;
      count++;
    }
    const batch = this.waiting.splice(0, count);
    this.inFlight++;
    this.store(batch)
      .catch((error: unknown) => batch.forEach((submission) => submission.reject(error)))
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
    this.schedule();
  }

  /** Each tenant's jobs on their own: one tenant near its limit holds back no other. */
  private async store(batch: Submission[]): Promise<void> {
    const byTenant = new Map<string, Submission[]>();
    for (const submission of batch) {
      const group = byTenant.get(submission.tenantId);
      if (group) group.push(submission);
      else byTenant.set(submission.tenantId, [submission]);
    }
    await Promise.all([...byTenant.values()].map(async (group) => this.enqueue(await this.storeGroup(group))));
  }

  /**
   * The jobs of one tenant, stored. In a shared turn (batches of the tenant side by side) if
   * the estimate has room for all of them: one statement. Else in an exclusive turn, once the
   * tenant's batches in flight in this process are committed, so that the count in Postgres
   * sees them: then all in one statement if the count leaves room, else one at a time, each
   * counted. Counts in Postgres hold the tenant's queue lock until their insert commits, so
   * replicas counting at once take turns: none admits the room another just took. What is
   * left is QueuedJobsEstimate's window (jobs admitted on an old estimate while a count is
   * taken).
   */
  private async storeGroup(group: Submission[]): Promise<Stored[]> {
    const tenantId = group[0]!.tenantId;
    const turns = this.turnsOf(tenantId);
    try {
      return await this.storeGroupIn(turns, group);
    } finally {
      if (turns.shared.size === 0 && !turns.exclusive) this.turns.delete(tenantId);
    }
  }

  private async storeGroupIn(turns: TenantTurns, group: Submission[]): Promise<Stored[]> {
    const tenantId = group[0]!.tenantId;
    while (turns.exclusive) await turns.exclusive;
    const shared = (async () => {
      const reserved = await this.estimate.reserve(tenantId, group.length, group[0]!.quotas.maxQueuedJobs).catch(() => false);
      return reserved ? this.insert(group) : undefined;
    })();
    turns.shared.add(shared);
    try {
      const stored = await shared;
      if (stored) return stored;
    } finally {
      turns.shared.delete(shared);
    }
    return this.exclusively(turns, () => this.storeCounting(group));
  }

  private turnsOf(tenantId: string): TenantTurns {
    let turns = this.turns.get(tenantId);
    if (!turns) {
      turns = { shared: new Set(), exclusive: undefined };
      this.turns.set(tenantId, turns);
    }
    return turns;
  }

  private async exclusively<T>(turns: TenantTurns, work: () => Promise<T>): Promise<T> {
    while (turns.exclusive) await turns.exclusive;
    const result = Promise.allSettled([...turns.shared]).then(work);
    const done = result.then(
      () => undefined,
      () => undefined,
    );
    turns.exclusive = done;
    try {
      return await result;
    } finally {
      if (turns.exclusive === done) turns.exclusive = undefined;
    }
  }

  /**
   * The estimate first; when it has no room (or there is none), one exact count in Postgres
   * under the tenant's queue lock, all stored if it leaves room for all (the count becomes
   * the estimate); else, or if a row was refused, one at a time, each counted.
   */
  private async storeCounting(group: Submission[]): Promise<Stored[]> {
    const { tenantId, quotas } = group[0]!;
    const limit = quotas.maxQueuedJobs;
    if (await this.estimate.reserve(tenantId, group.length, limit).catch(() => false)) return this.insert(group);
    const counted = await this.jobs
      .createQueuedManyIfRoom(
        group.map(({ id, job }) => ({ id, tenantId, job })),
        { id: tenantId, maxQueued: limit },
      )
      // Postgres refused the statement (a bad row, or Postgres itself): one at a time below,
      // so that each request gets its own answer.
      .catch(() => undefined);
    if (counted?.rows) {
      // Redis down: no estimate, the next batch counts again (and its enqueue will say so).
      await this.estimate.set(tenantId, counted.queued + group.length).catch(() => undefined);
      return counted.rows.map((row, index) => ({ submission: group[index]!, row }));
    }
    const stored: Stored[] = [];
    for (const submission of group) {
      const row = await this.storeCounted(submission);
      if (row) stored.push({ submission, row });
    }
    // The estimate (if any) must stay an upper bound: add what was admitted past it.
    if (stored.length > 0) await this.estimate.add(tenantId, stored.length).catch(() => undefined);
    return stored;
  }

  /** Near its limit a tenant's jobs are stored one at a time, each by a statement that counts first. */
  private async storeCounted(submission: Submission): Promise<JobWithRanks | undefined> {
    const { quotas, tenantId } = submission;
    try {
      const row = await this.jobs.createQueued(submission.job, { id: tenantId, maxQueued: quotas.maxQueuedJobs });
      if (row) return row;
      submission.reject(this.admission.queuedJobsFull(quotas, await this.jobs.countQueued(tenantId, quotas.maxQueuedJobs)));
    } catch (error) {
      submission.reject(error);
    }
    return undefined;
  }

  /** One statement for all; if it fails, one per job, so that a bad row fails its own request only. */
  private async insert(admitted: Submission[]): Promise<Stored[]> {
    if (admitted.length === 0) return [];
    const rowsOf = async (submissions: Submission[]) =>
      (await this.jobs.createQueuedMany(submissions.map(({ id, tenantId, job }) => ({ id, tenantId, job })))).map((row, index) => ({
        submission: submissions[index]!,
        row,
      }));
    try {
      return await rowsOf(admitted);
    } catch (error) {
      if (admitted.length === 1) {
        admitted[0]!.reject(error);
        return [];
      }
    }
    const stored: Stored[] = [];
    for (const submission of admitted) {
      try {
        stored.push(...(await rowsOf([submission])));
      } catch (error) {
        submission.reject(error);
      }
    }
    return stored;
  }

  /** A job that cannot be queued is failed, not left QUEUED forever. */
  private async enqueue(stored: Stored[]): Promise<void> {
    if (stored.length === 0) return;
    try {
      await this.queue.enqueueRuns(stored.map(({ row, submission }) => ({ jobId: row.id, correlationId: submission.correlationId })));
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error);
      this.logger.error(`${stored.length} job(s) could not be queued: ${cause}`);
      await Promise.all(
        stored.map(async ({ row, submission }) => {
          await this.jobs.finishIf(row.id, JobStatus.QUEUED, JobStatus.FAILED, `could not be queued: ${cause}`).catch(() => undefined);
          submission.reject(new ServiceUnavailableException(`job ${row.id} could not be queued, try again later`));
        }),
      );
      return;
    }
    for (const { row, submission } of stored) submission.resolve(row);
  }
}
