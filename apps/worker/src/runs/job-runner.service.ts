import { Inject, Injectable, Logger } from '@nestjs/common';
import { LOADER_ENV_PATTERN, type RunJobPayload } from '@mpiaas/contracts';
import type { Job } from '@mpiaas/db';
import { runJob, type JobOutcome } from '@mpiaas/runtime';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { LogSink } from '../logs/log-sink';
import { ActiveRuns, type StopReason } from './active-runs';
import { JobExecutionRepository } from './job-execution.repository';
import { JobWorkspace } from './job-workspace';
import { killProcessesOf, RankUserPool } from './rank-users';
import { RANK_WRAPPER } from './rank-wrapper.provider';

/** How often a running job checks the database for a cancel request it may have missed. */
const CANCEL_POLL_MS = 2000;

/** The job must go back to the queue (its worker is shutting down); BullMQ retries it. */
export class RequeueError extends Error {}

/**
 * The job's variables minus any the loader reads in the wrapper (prlimit, unshare) before
 * the rank is confined: the api refuses them, this holds even for a row written otherwise.
 */
function jobEnvironment(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !LOADER_ENV_PATTERN.test(name)));
}

/** Environment every rank gets in the service, under the job's own variables. */
function serviceEnvironment(workDir: string): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: workDir,
    TMPDIR: workDir,
    LANG: 'C.UTF-8',
    // One rank per slot: numerical libraries must not start a thread per core in every rank.
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
}

/**
 * Runs one queued job to its end: claims it, runs its ranks in a fresh directory, streams
 * their output into Postgres and stores the outcome. A failing script is an outcome, not
 * an error: only infrastructure faults throw (and are retried by the queue).
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger(JobRunner.name);
  private readonly rankUsers: RankUserPool | undefined;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(RANK_WRAPPER) private readonly wrapper: string[],
    private readonly jobs: JobExecutionRepository,
    private readonly active: ActiveRuns,
  ) {
    const base = config.RANK_UID_BASE;
    this.rankUsers = base === undefined ? undefined : new RankUserPool(base, config.SLOTS);
  }

  /** Ranks the job asks for, to reserve its slots before claiming it (undefined: no such job). */
  ranksOf(jobId: string): Promise<number | undefined> {
    return this.jobs.ranksOf(jobId);
  }

  async run(payload: RunJobPayload): Promise<void> {
    const { jobId } = payload;
    const claim = await this.jobs.claim(jobId, this.config.WORKER_ID);
    if (claim.kind === 'skipped') {
      this.logger.log(`job ${jobId} skipped: ${claim.why}`);
      return;
    }
    const { job } = claim;
    this.logger.log(
      `job ${jobId} started: np=${job.np}${claim.retried ? ' (retry)' : ''} correlationId=${payload.correlationId ?? '-'}`,
    );
    const controller = new AbortController();
    const uid = this.rankUsers?.take();
    const owner = uid === undefined ? undefined : { uid, gid: uid };
    try {
      // The runtime reaps the uid's processes as soon as the ranks have exited (`reap`).
      await this.runClaimed(job, controller, owner);
    } finally {
      if (uid !== undefined) this.rankUsers?.release(uid);
    }
  }

  /** Kills whatever the job left behind (a daemon that escaped its process group). */
  private async reap(jobId: string, uid: number): Promise<void> {
    const leftovers = await killProcessesOf(uid);
    if (leftovers > 0) this.logger.warn(`job ${jobId}: killed ${leftovers} process(es) it left running`);
  }

  private async runClaimed(
    job: Job,
    controller: AbortController,
    owner: { uid: number; gid: number } | undefined,
  ): Promise<void> {
    const jobId = job.id;
    // Before anything with a timer: if this throws, nothing is left running.
    const workspace = await JobWorkspace.create(this.config.WORK_DIR, jobId, job.script, owner);
    const sink = new LogSink(jobId, this.jobs, { capBytes: this.config.LOG_CAP_BYTES, flushMs: this.config.LOG_FLUSH_MS }, this.logger);
    const cancelPoll = setInterval(() => void this.pollCancel(jobId, controller), CANCEL_POLL_MS);
    const running = runJob({
      // Per attempt: a retried job must not meet the rank traffic its lost attempt left in Redis.
      jobId: `${jobId}.${job.attempts}`,
      np: job.np,
      script: workspace.scriptPath,
      args: job.args,
      python: this.config.MPIAAS_PYTHON,
      ...(this.config.MPIAAS_SHIM_PATH ? { shimPath: this.config.MPIAAS_SHIM_PATH } : {}),
      wrapper: this.wrapper,
      ...(owner ?? {}),
      cwd: workspace.dir,
      env: { ...serviceEnvironment(workspace.dir), ...jobEnvironment(job.env as Record<string, string>) },
      timeoutMs: job.timeoutSeconds * 1000,
      redisUrl: this.config.REDIS_URL,
      keyPrefix: this.config.MPIAAS_REDIS_PREFIX,
      signal: controller.signal,
      onOutput: (rank, stream, chunk) => sink.push(rank, stream, chunk),
      ...(owner ? { reap: () => this.reap(jobId, owner.uid) } : {}),
    });
    this.active.add(jobId, controller, running.catch(() => undefined));

    let outcome: JobOutcome;
    try {
      outcome = await running;
    } catch (error) {
      // The runtime itself failed (Redis unreachable): not the script's fault.
      await sink.close().catch(() => undefined);
      await this.jobs.requeue(jobId, `infrastructure fault: ${(error as Error).message}`);
      throw error;
    } finally {
      clearInterval(cancelPoll);
      this.active.remove(jobId);
      await workspace.remove();
    }

    const stopped = controller.signal.aborted ? (controller.signal.reason as StopReason) : undefined;
    if (stopped === 'lost') {
      // Another worker runs it now and owns its record: write nothing more.
      sink.discard();
      this.logger.warn(`job ${jobId}: stopped, the queue gave it to another worker`);
      return;
    }
    // Every line is stored before the final status, so a follower that sees it has it all.
    await sink.close();
    // Only when the stop is what ended the job: one that failed or finished on its own first
    // keeps that outcome.
    if (stopped === 'shutdown' && outcome.status === 'CANCELLED') {
      await this.jobs.requeue(jobId, 'its worker shut down before it finished');
      throw new RequeueError(`job ${jobId} requeued: worker shutting down`);
    }
    if (stopped === 'cancel' && outcome.status === 'CANCELLED') outcome.reason = 'cancelled by user';
    if (outcome.infrastructure) {
      await this.jobs.requeue(jobId, outcome.reason ?? 'infrastructure fault');
      throw new Error(`job ${jobId}: ${outcome.reason}`);
    }
    await this.jobs.finish(jobId, outcome, (rank) => sink.totals(rank));
    this.logger.log(`job ${jobId} ${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`);
  }

  /** The queue gave up on a job (attempts exhausted, stalled too often): fail it for good. */
  async giveUp(jobId: string, why: string): Promise<void> {
    if (await this.jobs.failUnlessFinal(jobId, why)) this.logger.warn(`job ${jobId} FAILED: ${why}`);
  }

  private async pollCancel(jobId: string, controller: AbortController): Promise<void> {
    try {
      await this.jobs.touch(jobId);
      if (!controller.signal.aborted && (await this.jobs.isCancelRequested(jobId))) controller.abort('cancel');
    } catch (error) {
      this.logger.warn(`job ${jobId}: cannot check for cancellation: ${(error as Error).message}`);
    }
  }
}
