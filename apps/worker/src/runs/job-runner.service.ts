import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { CANCELLED_BY_USER, controlChannel, type ControlMessage, type RunJobPayload } from '@mpiaas/contracts';
import { JobStatus, type Job } from '@mpiaas/db';
import { AGENT_PROTOCOL_VERSION, combineShares, deleteJobKeys, endJobEverywhere, JobKeys, type JobOutcome, type ShareOutcome, type StopVerdict } from '@mpiaas/runtime';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { jobFinished, jobStarted } from '../metrics/job-lifecycle';
import { GangScheduler } from '../placement/gang-scheduler';
import { placeRanks } from '../placement/rank-placement';
import { SlotWaiters } from '../placement/slot-waiters';
import { WaitingJobs } from '../placement/waiting-jobs';
import { ActiveRuns, type StopReason } from './active-runs';
import { JobExecutionRepository, type JobSpec } from './job-execution.repository';
import { ReportRouter } from './report-router';
import { ShareCollector } from './share-collector';
import { runIdOf, type RankReport, type ShareOrder, type ShareReport } from './share-order';
import { ShareRunner } from './share-runner.service';

/** How often a running job checks the database for a cancel request it may have missed. */
const CANCEL_POLL_MS = 2000;
/** An agent that left without a report this long ago is lost. */
const REPORT_GRACE_MS = 15_000;
/** How soon a job whose leader still has it (a second queue entry) asks again. */
const LED_RETRY_MS = 1000;
/** Jobs whose placement is remembered (their immutable fields), to spare a query per retry. */
const SPEC_CACHE_SIZE = 10_000;

/** The job must go back to the queue (its worker is shutting down); BullMQ retries it. */
export class RequeueError extends Error {}

/** The lock of the queue entry a worker took: its key and the worker's token. */
export interface QueueLock {
  key: string;
  token: string;
}

/** What became of one attempt to run a job from the queue. */
export type RunResult = { kind: 'done' } | { kind: 'wait'; delayMs: number };

/**
 * How long a job that could not be placed waits before asking again: the head of the line
 * soon (slots may free any moment), those further back less often (each ask costs a pass
 * over the line in Redis and a round of the queue). Slots that free up, or a worker that
 * joins, wake the jobs at the head of the line at once (WaitingJobs): this is a safety net,
 * and with hundreds of jobs in line asking every 2 s cost more than running them.
 */
const waitDelay = (position: number): number => Math.min(10_000, 250 + 500 * position);

/**
 * How long a job that cannot be placed is held by the worker that took it, asking again as
 * slots free here (SlotWaiters), before it goes back to the queue: long enough for the next
 * short jobs in line, short enough that jobs held for a tenant at its quota do not keep this
 * worker from taking other tenants' jobs for long.
 */
const HOLD_MS = 3000;

/**
 * Leads the jobs this worker takes from the queue: places each over the live workers (all
 * of its ranks or none), claims it in Postgres, sends every chosen worker its share (running
 * its own here), collects the shares' reports and stores the outcome. A failing script is an
 * outcome, not an error: only infrastructure faults throw (and are retried by the queue).
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger(JobRunner.name);
  private readonly specs = new Map<string, JobSpec>();
  /** Set at shutdown: held jobs go back to the queue at once, none is placed any more. */
  private closing = false;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly jobs: JobExecutionRepository,
    private readonly active: ActiveRuns,
    private readonly scheduler: GangScheduler,
    private readonly shares: ShareRunner,
    private readonly reports: ReportRouter,
    private readonly waiting: WaitingJobs,
    private readonly held: SlotWaiters,
  ) {}

  /**
   * Runs the job, or says how long it must wait in the queue (after holding it up to HOLD_MS
   * while `lock` — the queue entry's lock key and this worker's token — is still ours).
   */
  async run(payload: RunJobPayload, lock?: QueueLock): Promise<RunResult> {
    const until = Date.now() + HOLD_MS;
    for (;;) {
      const result = await this.runOnce(payload);
      if (result.kind !== 'wait' || !lock || this.closing || Date.now() + result.delayMs > until) return result;
      await this.held.wait(result.delayMs);
      if (this.closing) return result;
      // Redis may have lost the entry meanwhile: the reconciler adds it again, for anyone.
      if ((await this.scheduler.connection.get(lock.key).catch(() => null)) !== lock.token) return result;
    }
  }

  private async runOnce(payload: RunJobPayload): Promise<RunResult> {
    const { jobId } = payload;
    const { spec, fresh } = await this.specOf(jobId);
    if (!spec) throw new UnrecoverableError(`job ${jobId} does not exist`);
    if (spec.status !== JobStatus.QUEUED && spec.status !== JobStatus.RUNNING) {
      // Ended meanwhile (cancelled while its queue entry was held): it must not stay in line.
      await this.scheduler.forget(jobId);
      return { kind: 'done' };
    }
    const placed = await this.scheduler.place({
      jobId,
      np: spec.np,
      timeoutMs: spec.timeoutSeconds * 1000,
      order: spec.createdAt.getTime(),
      policy: spec.placement === 'SPREAD' ? 'spread' : 'pack',
      oversubscribe: spec.oversubscribe,
      // Read with the spec just now: the scheduler need not ask again (a cached spec may hold an old quota).
      ...(fresh ? { tenant: { tenantId: spec.tenantId, maxRunningRanks: spec.maxRunningRanks ?? this.config.TENANT_MAX_RUNNING_RANKS } } : {}),
    });
    if (!placed.placed && placed.gone) {
      // Cancelled (or ended) since its spec was read: not put back in line, never started.
      this.specs.delete(jobId);
      return { kind: 'done' };
    }
    if (!placed.placed) return { kind: 'wait', delayMs: waitDelay(placed.position) };
    this.specs.delete(jobId);
    try {
      const { placement, workers } = placeRanks(placed.slots, spec.np);
      const claim = await this.jobs.claim(jobId, this.config.WORKER_ID, placement.map((agent) => workers[agent] as string), (leader) =>
        leader === this.config.WORKER_ID ? Promise.resolve(this.active.has(jobId)) : this.scheduler.isLive(leader),
      );
      if (claim.kind === 'skipped') {
        this.logger.log(`job ${jobId} skipped: ${claim.why}`);
        return { kind: 'done' };
      }
      // Its leader still has it; asked again until that one finishes it or lets it go.
      if (claim.kind === 'led') {
        this.logger.debug(`job ${jobId}: still led by ${claim.by}; asking again in ${LED_RETRY_MS} ms`);
        return { kind: 'wait', delayMs: LED_RETRY_MS };
      }
      if (!claim.retried) jobStarted(this.config.WORKER_ID, claim.job);
      this.logger.log(
        `job ${jobId} started: np=${spec.np} on ${workers.join(', ')}${claim.retried ? ' (retry)' : ''} correlationId=${payload.correlationId ?? '-'}`,
      );
      await this.lead(claim.job, placement, workers);
      return { kind: 'done' };
    } finally {
      await this.scheduler.release(jobId).catch((error: Error) => this.logger.warn(`job ${jobId}: release: ${error.message}`));
      // The freed slots may let the next jobs in line start now rather than at their next ask:
      // those held here first, then those waiting in the queue.
      const freed = placed.slots.reduce((sum, part) => sum + part.slots, 0) + 1;
      const woken = this.held.wake(freed);
      if (woken < freed) {
        void this.waiting.wake(freed);
        void this.announceFreed(freed - woken);
      }
    }
  }

  /** Tells the other workers slots came free: the jobs they hold ask again now (ControlListener). */
  private async announceFreed(slots: number): Promise<void> {
    const message: ControlMessage = { type: 'slots-freed', from: this.config.WORKER_ID, slots };
    await this.scheduler.connection.publish(controlChannel(this.config.QUEUE_PREFIX), JSON.stringify(message)).catch(() => undefined);
  }

  /** Shutdown: the jobs held here go back to the queue now, for other workers. */
  releaseHeld(): void {
    this.closing = true;
    this.held.wake(Number.POSITIVE_INFINITY);
  }

  /** The queue gave up on a job (attempts exhausted, stalled too often): fail it for good. */
  async giveUp(jobId: string, why: string): Promise<void> {
    await this.scheduler.forget(jobId).catch(() => undefined);
    if (await this.jobs.failUnlessFinal(jobId, why)) {
      jobFinished(this.config.WORKER_ID, 'FAILED', why, null);
      this.logger.warn(`job ${jobId} FAILED: ${why}`);
    }
  }

  private async specOf(jobId: string): Promise<{ spec: JobSpec | undefined; fresh: boolean }> {
    const cached = this.specs.get(jobId);
    if (cached) return { spec: cached, fresh: false };
    const spec = await this.jobs.specOf(jobId);
    if (spec && spec.status === JobStatus.QUEUED) {
      if (this.specs.size >= SPEC_CACHE_SIZE) this.specs.delete(this.specs.keys().next().value as string);
      this.specs.set(jobId, spec);
    }
    return { spec, fresh: true };
  }

  /** Runs one claimed attempt of the job over its workers and stores how it ended. */
  private async lead(job: Job, placement: number[], workers: string[]): Promise<void> {
    const jobId = job.id;
    const attempt = job.attempts;
    const runId = runIdOf(jobId, attempt);
    const me = this.config.WORKER_ID;
    const deadline = Date.now() + this.config.RENDEZVOUS_TIMEOUT_MS;
    const orders: ShareOrder[] = workers.map((_, agent) => ({ jobId, attempt, agent, placement, workers, leader: me, deadline, protocol: AGENT_PROTOCOL_VERSION }));
    const remote = orders.filter((order) => workers[order.agent] !== me);
    const local = orders.find((order) => workers[order.agent] === me);
    const jobKeys = new JobKeys(this.config.MPIAAS_REDIS_PREFIX, runId);
    const redis = this.scheduler.connection;
    const endEverywhere = (verdict: StopVerdict): void =>
      void endJobEverywhere(redis, this.config.MPIAAS_REDIS_PREFIX, runId, workers.length, verdict).catch(() => undefined);

    // Stopping the lead (shutdown, lost lock) ends the job on every worker; a cancel reaches
    // every worker by itself (each stops its own share).
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => {
      const reason = controller.signal.reason as StopReason;
      if (reason === 'cancel') return;
      endEverywhere({
        status: 'FAILED',
        exitCode: 1,
        reason: reason === 'shutdown' ? `worker ${me} shut down` : 'the job was given to another worker',
        infrastructure: true,
      });
    });
    const cancelPoll = setInterval(() => void this.pollCancel(jobId, controller), CANCEL_POLL_MS);
    const startedAt = new Date();
    const lostAt = new Map<number, number>();

    const collector = new ShareCollector({
      redis,
      jobKeys,
      agents: remote.map((order) => order.agent),
      workers,
      deadline,
      reportGraceMs: REPORT_GRACE_MS,
      onLost: (agent, worker) => {
        lostAt.set(agent, Date.now());
        this.logger.warn(`job ${jobId}: worker ${worker} lost`);
        endEverywhere({ status: 'FAILED', exitCode: 1, reason: `worker lost: ${worker}`, infrastructure: true });
      },
      onReport: (report) => {
        // A share that failed to start told nobody: end the job on the others now.
        if (report.verdict && report.ranks.length === 0) endEverywhere(report.verdict);
      },
    });
    const stopListening = this.reports.listen(runId, (report) => collector.receive(report));
    const running = (async () => {
      if (remote.length > 0) {
        const pipeline = redis.pipeline();
        for (const order of remote) pipeline.rpush(this.scheduler.keys.orders(workers[order.agent] as string), JSON.stringify(order));
        await pipeline.exec();
      }
      return Promise.all([local ? this.shares.run(job, local) : undefined, collector.collect(controller.signal)]);
    })();
    // Registered until the outcome is stored: a shutdown waits for that, not just the ranks.
    let finished: () => void = () => undefined;
    const unregister = this.active.add(jobId, controller, new Promise<void>((resolve) => (finished = resolve)));
    try {
      await this.conclude(job, controller, running, { stopListening, jobKeys, lostAt, startedAt, workers });
    } finally {
      clearInterval(cancelPoll);
      unregister();
      finished();
    }
  }

  /** Waits for the shares of a lead and stores how the attempt ended. */
  private async conclude(
    job: Job,
    controller: AbortController,
    running: Promise<[ShareReport | undefined, { reports: ShareReport[]; lost: number[] }]>,
    context: { stopListening: () => void; jobKeys: JobKeys; lostAt: Map<number, number>; startedAt: Date; workers: string[] },
  ): Promise<void> {
    const { id: jobId, attempts: attempt } = job;
    const { stopListening, jobKeys, lostAt, startedAt, workers } = context;
    const redis = this.scheduler.connection;

    let reports: ShareReport[];
    let lost: number[];
    try {
      const [own, collected] = await running;
      reports = own ? [own, ...collected.reports] : collected.reports;
      lost = collected.lost;
    } finally {
      stopListening();
      await deleteJobKeys(redis, jobKeys, workers.length).catch(() => undefined);
    }

    const stopped = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
    if (stopped === 'lost') {
      // The queue may give it to another worker (which then owns its record: the fence drops
      // anything we write), or already has; letting go tells that one it may start at once.
      this.logger.warn(`job ${jobId}: stopped, its queue lock was lost; the queue runs it again`);
      await this.jobs.letGo(jobId, attempt, this.config.WORKER_ID).catch((error: Error) => this.logger.warn(`job ${jobId}: let go: ${error.message}`));
      return;
    }
    const outcome = outcomeOf(reports, lost.map((agent) => ({ agent, worker: workers[agent] as string, at: lostAt.get(agent) ?? Date.now() })), job.np, startedAt);
    if (stopped === 'shutdown' && outcome.infrastructure) {
      await this.jobs.requeue(jobId, attempt, 'its worker shut down before it finished');
      throw new RequeueError(`job ${jobId} requeued: worker shutting down`);
    }
    if (outcome.infrastructure) {
      await this.jobs.requeue(jobId, attempt, outcome.reason ?? 'infrastructure fault');
      throw new Error(outcome.reason ?? 'infrastructure fault');
    }
    if (stopped === 'cancel' && outcome.status === 'CANCELLED') outcome.reason = CANCELLED_BY_USER;
    const totals = new Map<number, RankReport>(reports.flatMap((report) => report.ranks.map((rank) => [rank.rank, rank] as const)));
    await this.jobs.finish(jobId, attempt, outcome, totals);
    jobFinished(this.config.WORKER_ID, outcome.status, outcome.reason, job.startedAt ?? startedAt);
    this.logger.log(`job ${jobId} ${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`);
  }

  private async pollCancel(jobId: string, controller: AbortController): Promise<void> {
    try {
      await this.jobs.touch(jobId);
      if (!controller.signal.aborted && (await this.jobs.isCancelRequested(jobId))) this.active.stop(jobId, 'cancel');
    } catch (error) {
      this.logger.warn(`job ${jobId}: cannot check for cancellation: ${(error as Error).message}`);
    }
  }
}

/** The job's outcome from its shares' reports, a share never heard from counting as its worker lost. */
function outcomeOf(
  reports: readonly ShareReport[],
  lost: readonly { agent: number; worker: string; at: number }[],
  np: number,
  startedAt: Date,
): JobOutcome {
  const shares: ShareOutcome[] = reports.map((report) => ({
    agent: report.agent,
    ...(report.verdict ? { verdict: report.verdict } : {}),
    ...(report.diagnosis ? { diagnosis: report.diagnosis } : {}),
    ...(report.profiles ? { profiles: report.profiles } : {}),
    ranks: report.ranks.map((rank) => ({
      rank: rank.rank,
      exitCode: rank.exitCode,
      signal: rank.signal,
      startedAt: new Date(rank.startedAt),
      finishedAt: rank.finishedAt === null ? undefined : new Date(rank.finishedAt),
    })),
  }));
  for (const { agent, worker, at } of lost) {
    shares.push({
      agent,
      verdict: { status: 'FAILED', exitCode: 1, reason: `worker lost: ${worker}`, infrastructure: true, at, origin: 'local' },
      ranks: [],
    });
  }
  return combineShares(shares, np, startedAt);
}
