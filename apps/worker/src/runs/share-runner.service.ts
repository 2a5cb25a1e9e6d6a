import path from 'node:path';
import { rm } from 'node:fs/promises';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CANCELLED_BY_USER, LOADER_ENV_PATTERN, rankEntry } from '@mpiaas/contracts';
import type { Job } from '@mpiaas/db';
import { collectiveDurations, RankProcess, runAgentShare, SHIM_PATH, type ShareOutcome, type StopVerdict } from '@mpiaas/runtime';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { LogSink } from '../logs/log-sink';
import { ActiveRuns, type StopReason } from './active-runs';
import { JobExecutionRepository } from './job-execution.repository';
import { forgetPreparedRoot, JobWorkspace } from './job-workspace';
import { killProcessesOf, RankUserPool } from './rank-users';
import { JOB_TMP_NAME, RankSandbox } from './rank-sandbox';
import { runIdOf, type ShareOrder, type ShareReport } from './share-order';
import { JobCgroup, jobCgroupsEnabled, removeWorkerCgroups, type JobLimits, type LimitHit } from './job-cgroup';
import { favorDynamicCgroups, favorDynmodsShown } from './cgroup-favor-dynmods';
import { diskUsage, JobUsageWatch } from './job-usage-watch';
import type { LaunchedRank } from './launcher/launched-rank';
import { RANK_LAUNCHER } from './launcher/rank-launcher.provider';
import type { RankLauncherClient } from './launcher/rank-launcher-client';
import { RANK_ZYGOTE } from './warm-pool/rank-zygote.provider';
import type { RankZygote } from './warm-pool/rank-zygote';
import { workerScratch } from './worker-scratch';
import { serviceEnvironment } from './service-environment';
import { JobOutputs } from '../outputs/job-outputs';
import { collectiveCompleted } from '../metrics/job-lifecycle';
import { GangScheduler } from '../placement/gang-scheduler';

/** Observations of one collective op and duration bucket a share adds to mpiaas_collective_seconds, at most. */
const MAX_OBSERVED = 100_000;

/**
 * The job's variables minus any the loader reads in the wrapper (prlimit, unshare) before
 * the rank is confined: the api refuses them, this holds even for a row written otherwise.
 */
function jobEnvironment(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !LOADER_ENV_PATTERN.test(name)));
}

const WATCH_MS = 1000;

export interface ShareRunOptions {
  /** Asked every second: a verdict it returns ends the share (the job's leader is gone). */
  watch?: () => Promise<StopVerdict | undefined>;
  /** Sends the report (to a leader on another worker). */
  deliver?: (report: ShareReport) => Promise<void>;
}

/** A share stopped for `reason` by this worker ends the job everywhere with this verdict. */
function stopVerdict(reason: StopReason, workerId: string): StopVerdict {
  switch (reason) {
    case 'cancel':
      return { status: 'CANCELLED', exitCode: 130, reason: CANCELLED_BY_USER };
    case 'shutdown':
      return { status: 'FAILED', exitCode: 1, reason: `worker ${workerId} shut down`, infrastructure: true };
    case 'lost':
      return { status: 'FAILED', exitCode: 1, reason: 'the job was given to another worker', infrastructure: true };
  }
}

/**
 * Runs this worker's share of a job: the ranks placed here, in a fresh directory under a
 * user id of their own, their output streamed into Postgres (fenced by the attempt), and
 * reports how it ended. A failing script is a report, not an error.
 */
@Injectable()
export class ShareRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ShareRunner.name);
  private readonly rankUsers: RankUserPool | undefined;
  /** Whether each job's ranks get cgroups of their own (memory and processes of the job as a whole). */
  private readonly cgroups: boolean;
  /** Whether the host's cgroups favour moves (cgroup-favor-dynmods.ts), so that cgroupfs calls never wait long. */
  private cgroupMovesQuick = false;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly sandbox: RankSandbox,
    private readonly jobs: JobExecutionRepository,
    private readonly active: ActiveRuns,
    @Inject(RANK_LAUNCHER) private readonly launcher: RankLauncherClient | null,
    private readonly outputs: JobOutputs,
    @Inject(RANK_ZYGOTE) private readonly zygote: RankZygote | null,
    private readonly scheduler: GangScheduler,
  ) {
    const base = config.RANK_UID_BASE;
    this.rankUsers = base === undefined ? undefined : new RankUserPool(base, config.SLOTS);
    this.cgroups = jobCgroupsEnabled(config, launcher);
    if (!this.cgroups && !launcher) this.logger.warn('no cgroups for jobs: memory and processes are bounded per rank only');
  }

  /** A worker that puts its ranks in cgroups lets them join without waiting (cgroup-favor-dynmods.ts). */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.cgroups) return;
    if (this.config.CGROUP_FAVOR_DYNMODS === 'off' || process.getuid?.() !== 0) {
      this.cgroupMovesQuick = await favorDynmodsShown();
      return;
    }
    const outcome = await favorDynamicCgroups();
    this.cgroupMovesQuick = outcome.state !== 'unavailable';
    if (outcome.state === 'unavailable') {
      this.logger.warn(`cgroup favordynmods not set (${outcome.why}): each rank waits an RCU grace period to join its job's cgroups`);
    } else if (outcome.state === 'turned on') {
      this.logger.log(`cgroup favordynmods set on ${outcome.mountPoint} for this host (CGROUP_FAVOR_DYNMODS=off leaves it alone)`);
    }
  }

  /** At a clean shutdown (every share has ended): this worker's folders go too. */
  async onApplicationShutdown(): Promise<void> {
    await this.zygote?.stop();
    const scratch = workerScratch(this.config.WORK_DIR);
    await rm(scratch, { recursive: true, force: true });
    forgetPreparedRoot(scratch);
    if (this.cgroups) await removeWorkerCgroups(this.config.CGROUP_ROOT, path.basename(scratch));
  }

  /** This share's part of the job's limits: in proportion to the ranks it hosts. */
  private limitsOf(order: ShareOrder): JobLimits {
    const hosted = order.placement.filter((agent) => agent === order.agent).length;
    const share = hosted / order.placement.length;
    return {
      memoryBytes: Math.ceil(this.config.JOB_MEMORY_BYTES * share),
      processes: Math.max(16 * hosted, Math.ceil(this.config.JOB_PROCESSES * share)),
    };
  }

  /**
   * Runs the share; resolves once its ranks have exited, their output is stored and the
   * report is delivered (`deliver`; a shutdown waits for all of it). `watch`, if given, is
   * consulted every second: a verdict it returns ends the share (the job's leader is gone).
   */
  async run(job: Job, order: ShareOrder, options: ShareRunOptions = {}): Promise<ShareReport> {
    const uid = await this.rankUsers?.acquire(order.deadline);
    const owner = uid === undefined ? undefined : { uid, gid: uid };
    try {
      return await this.runAs(job, order, owner, options);
    } finally {
      if (uid !== undefined) this.rankUsers?.release(uid);
    }
  }

  private async runAs(
    job: Job,
    order: ShareOrder,
    owner: { uid: number; gid: number } | undefined,
    { watch, deliver }: ShareRunOptions,
  ): Promise<ShareReport> {
    const jobId = job.id;
    // Before anything with a timer: if this throws, nothing is left running.
    const scratch = workerScratch(this.config.WORK_DIR);
    const workspace = await JobWorkspace.create(scratch, jobId, job.script, owner, this.launcher !== null);
    // Output folders of the ranks hosted here (MPIAAS_OUTPUT), collected before the report.
    const hosted = order.placement.flatMap((agent, rank) => (agent === order.agent ? [rank] : []));
    await this.outputs.prepare(workspace.dir, hosted, owner);
    const limits = this.limitsOf(order);
    const cgroup = this.cgroups
      ? await JobCgroup.create(this.config.CGROUP_ROOT, path.basename(scratch), runIdOf(jobId, order.attempt), limits, {
          owner,
          countCpu: this.config.JOB_CPU_SECONDS > 0,
          quick: this.cgroupMovesQuick,
        })
      : undefined;
    const sink = new LogSink(
      jobId,
      { insertLogs: (id, records) => this.jobs.insertLogs(id, order.attempt, records) },
      { capBytes: this.config.LOG_CAP_BYTES, flushMs: this.config.LOG_FLUSH_MS },
      this.logger,
    );
    const controller = new AbortController();
    const shareSignal = new AbortController();
    controller.signal.addEventListener('abort', () =>
      shareSignal.abort(stopVerdict(controller.signal.reason as StopReason, this.config.WORKER_ID)),
    );
    const launch = this.sandbox.launch(workspace.dir, path.basename(workspace.scriptPath), this.config.MPIAAS_SHIM_PATH ?? SHIM_PATH);
    const launcher = this.launcher;
    const launched: LaunchedRank[] = [];
    const running = runAgentShare({
      jobId: runIdOf(jobId, order.attempt),
      agent: order.agent,
      placement: order.placement,
      agentNames: order.workers,
      // `python -u script args`, or `python -u -m mpi4py.futures script args`
      ...rankEntry(job.launcher === 'FUTURES' ? 'futures' : 'script', launch.script, job.args),
      python: this.config.MPIAAS_PYTHON,
      shimPath: launch.shimPath,
      wrapper: [...(cgroup?.enterCommand() ?? []), ...launch.wrapper],
      ...(owner ?? {}),
      cwd: workspace.dir,
      env: { ...serviceEnvironment(launch.home, launch.tmp), ...jobEnvironment(job.env as Record<string, string>) },
      timeoutMs: job.timeoutSeconds * 1000,
      redisUrl: this.config.REDIS_URL,
      // A share of a job on this worker alone heartbeats on the worker's connection and opens
      // none (measured: two connections per job were a tenth of a tiny job's worker CPU).
      sharedRedis: this.scheduler.connection,
      keyPrefix: this.config.MPIAAS_REDIS_PREFIX,
      signal: shareSignal.signal,
      rendezvousTimeoutMs: Math.max(1000, order.deadline - Date.now()),
      heartbeatTimeoutMs: this.config.AGENT_HEARTBEAT_TIMEOUT_MS,
      maxHeldBytes: this.config.JOB_AGENT_BYTES,
      // The job's own /tmp: its ranks here (and their agent, for a bcast it hands to several
      // of them) pass large bcasts and messages through files in it, leaving there at most
      // half of what the job may keep on this worker's disk. The ranks may see it elsewhere
      // (a sandbox's /tmp); the agent opens it where it is, before any rank starts.
      sharedMemory: { dir: launch.tmp, agentDir: path.join(workspace.dir, JOB_TMP_NAME), bytes: Math.floor(this.config.JOB_DISK_BYTES / 2) },
      // Every share heartbeats, the leader's own too: when Redis loses the queue entry and
      // its lock, the reconciler tells a running job from a lost one by these heartbeats (a
      // leader that skipped its own had its waiting jobs retried). The leader deletes the
      // attempt's keys after the last report.
      heartbeat: true,
      keepKeys: true,
      onOutput: (rank, stream, chunk) => sink.push(rank, stream, chunk),
      ...(launcher
        ? {
            spawnRank: (spawnOptions) => {
              const rank = launcher.spawn(this.outputs.withEnvironment(spawnOptions, launch.home));
              launched.push(rank);
              return rank;
            },
            reap: () => this.reapLauncher(jobId, launcher),
          }
        : {
            spawnRank: (spawnOptions) => {
              const options = this.outputs.withEnvironment(spawnOptions, launch.home);
              // Forked warm when the zygote is up; a fresh process otherwise (it restarts).
              return this.zygote?.available
                ? this.zygote.spawn(options, { jobDir: workspace.dir, ...(owner ?? {}), cgroups: cgroup?.procsFiles() ?? [] })
                : new RankProcess(options);
            },
            ...(cgroup ? { reap: () => this.reapCgroup(jobId, cgroup) } : owner ? { reap: () => this.reap(jobId, owner.uid) } : {}),
          }),
    });
    // Registered until the output is stored: a shutdown waits for that, not just the ranks.
    let finished: () => void = () => undefined;
    const done = this.active.add(jobId, controller, new Promise<void>((resolve) => (finished = resolve)));
    const watcher = watch && setInterval(() => void this.check(watch, shareSignal), WATCH_MS);
    const usage = new JobUsageWatch(
      workspace.dir,
      cgroup,
      { diskBytes: this.config.JOB_DISK_BYTES, files: this.config.JOB_FILES, cpuSeconds: this.config.JOB_CPU_SECONDS },
      this.config.WORKER_ID,
      (verdict) => shareSignal.abort(verdict),
      // The ranks' user may have taken the worker's access to its files away: it measures them.
      launcher ? (dir, maxFiles) => launcher.usage(dir, maxFiles) : diskUsage,
    );
    usage.start();

    try {
      const report = await this.settle(jobId, order, running, sink, () => this.collectAndRemove(jobId, order, workspace, hosted), watcher);
      const hit = (await cgroup?.limitHit()) ?? (launched.some((rank) => rank.oomKilled) ? 'memory' : undefined);
      if (hit && report.verdict) report.verdict.reason = this.limitReason(hit, limits, report.verdict.failedRank);
      await deliver?.(report);
      return report;
    } finally {
      usage.stop();
      await cgroup?.destroy();
      done();
      finished();
    }
  }

  /** Waits for the share's ranks, stores their output and builds the report. */
  private async settle(
    jobId: string,
    order: ShareOrder,
    running: Promise<ShareOutcome>,
    sink: LogSink,
    removeWorkspace: () => Promise<void>,
    watcher: NodeJS.Timeout | undefined,
  ): Promise<ShareReport> {
    let share: ShareOutcome;
    try {
      share = await running;
    } catch (error) {
      // The runtime could not start (Redis unreachable): not the script's fault.
      await sink.close().catch(() => undefined);
      share = {
        agent: order.agent,
        verdict: {
          status: 'FAILED',
          exitCode: 1,
          reason: `worker ${this.config.WORKER_ID}: ${(error as Error).message}`,
          infrastructure: true,
          at: Date.now(),
          origin: 'local',
        },
        ranks: [],
      };
    } finally {
      clearInterval(watcher);
      await removeWorkspace();
    }
    // Every line is stored before the report, so the final status comes after all output.
    await sink.close().catch((error: Error) => this.logger.error(`job ${jobId}: ${error.message}`));
    this.observeCollectives(share);
    return {
      runId: runIdOf(jobId, order.attempt),
      agent: order.agent,
      worker: this.config.WORKER_ID,
      ...(share.verdict ? { verdict: share.verdict } : {}),
      ...(share.diagnosis ? { diagnosis: share.diagnosis } : {}),
      ...(share.profiles ? { profiles: share.profiles } : {}),
      ranks: share.ranks.map((rank) => ({
        rank: rank.rank,
        exitCode: rank.exitCode,
        signal: rank.signal,
        startedAt: rank.startedAt.getTime(),
        finishedAt: rank.finishedAt?.getTime() ?? null,
        ...sink.totals(rank.rank),
      })),
    };
  }

  /**
   * mpiaas_collective_seconds from the profiles of the ranks hosted here: every collective
   * call, at the middle of its log2 duration bucket (at most MAX_OBSERVED per op and bucket).
   */
  private observeCollectives(share: ShareOutcome): void {
    for (const [op, seconds, calls] of collectiveDurations(share.profiles ?? [])) {
      for (let i = Math.min(calls, MAX_OBSERVED); i > 0; i--) collectiveCompleted(this.config.WORKER_ID, op, seconds);
    }
  }

  /** The reason of a job whose ranks ran into one of its limits here. */
  private limitReason(hit: LimitHit, limits: JobLimits, failedRank: number | undefined): string {
    const where = `the job's ranks on worker ${this.config.WORKER_ID}`;
    const rank = failedRank === undefined ? '' : `; rank ${failedRank} ${hit === 'memory' ? 'was killed' : 'failed'}`;
    const memoryLimit = this.launcher
      ? `${this.launcher.memoryLimit ?? 'the'} bytes (the memory limit of the ranks' container)`
      : `${limits.memoryBytes} bytes (JOB_MEMORY_BYTES)`;
    return hit === 'memory'
      ? `memory limit exceeded: ${where} needed more than ${memoryLimit}${rank}`
      : `process limit exceeded: ${where} reached ${limits.processes} processes and threads (JOB_PROCESSES)${rank}`;
  }

  private async check(watch: () => Promise<StopVerdict | undefined>, signal: AbortController): Promise<void> {
    if (signal.signal.aborted) return;
    const verdict = await watch().catch(() => undefined);
    if (verdict && !signal.signal.aborted) signal.abort(verdict);
  }

  /** Keeps the ranks' output files and rank 0's result, then removes the job's directory. */
  private async collectAndRemove(jobId: string, order: ShareOrder, workspace: JobWorkspace, hosted: readonly number[]): Promise<void> {
    try {
      await this.outputs.collect(jobId, order.attempt, workspace.dir, hosted);
    } finally {
      await this.removeWorkspace(workspace);
    }
  }

  /** Removes the job's directory: through the launcher first, which owns what the ranks made. */
  private async removeWorkspace(workspace: JobWorkspace): Promise<void> {
    await this.launcher?.remove(workspace.dir).catch((error: Error) => this.logger.warn(`cannot remove ${workspace.dir}: ${error.message}`));
    await workspace.remove().catch((error: Error) => this.logger.warn(`cannot remove ${workspace.dir}: ${error.message}`));
  }

  /** Kills whatever the job left in the ranks' container (it runs one job at a time). */
  private async reapLauncher(jobId: string, launcher: RankLauncherClient): Promise<void> {
    const leftovers = await launcher.reap().catch(() => 0);
    if (leftovers > 0) this.logger.warn(`job ${jobId}: killed ${leftovers} process(es) it left running`);
  }

  /** Kills whatever the job left behind in its cgroups (a daemon that escaped its process group). */
  private async reapCgroup(jobId: string, cgroup: JobCgroup): Promise<void> {
    const leftovers = await cgroup.killAll();
    if (leftovers > 0) this.logger.warn(`job ${jobId}: killed ${leftovers} process(es) it left running`);
  }

  /** Kills whatever the job left behind (a daemon that escaped its process group), by its user id. */
  private async reap(jobId: string, uid: number): Promise<void> {
    const leftovers = await killProcessesOf(uid);
    if (leftovers > 0) this.logger.warn(`job ${jobId}: killed ${leftovers} process(es) it left running`);
  }
}
