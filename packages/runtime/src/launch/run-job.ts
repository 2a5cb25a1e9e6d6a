import { randomUUID } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { evictionPolicyWarning } from '../redis/eviction-policy';
import { JobKeys } from '../redis/job-keys';
import { startHostedAgent, type HostedAgent } from './hosted-agent';
import type { JobOutcome, JobOutcomeStatus } from './job-outcome';
import { OutputTail } from './output-tail';
import { rankEnvironment } from './rank-environment';
import { RankProcess } from './rank-process';

export type OutputStream = 'stdout' | 'stderr';

export interface RunJobOptions {
  /** Names the job's Redis keys; a fresh UUID when absent. */
  jobId?: string;
  np: number;
  /** Path of the script, as the rank's python3 will see it (relative to `cwd`). */
  script: string;
  args?: readonly string[];
  /** Interpreter for the ranks; it needs numpy for the buffer API. */
  python: string;
  /** Command each rank's interpreter is started through (limits, isolation); see RankSpawnOptions. */
  wrapper?: readonly string[];
  /**
   * Folder holding the `mpi4py` shim, where ranks of another user can read it (a checkout
   * under a private directory is skipped silently by Python). @defaultValue SHIM_PATH
   */
  shimPath?: string;
  /** User and group the ranks run as (the caller must be allowed to switch to them). */
  uid?: number;
  gid?: number;
  cwd: string;
  /** Pass the caller's environment to the ranks (minus credentials), as mpirun does. */
  inheritEnv?: boolean;
  env?: Record<string, string>;
  /** Wall-clock limit of the whole job, ms. */
  timeoutMs?: number;
  redisUrl: string;
  /** Prefix of every Redis key, e.g. "mpi:". */
  keyPrefix: string;
  /**
   * How many agents share the ranks (round-robin). Each has its own Redis connections and
   * inbox, exactly as agents on different hosts would. @defaultValue 1
   */
  agents?: number;
  /** Stdin for rank 0. */
  stdin?: Readable;
  onOutput?(rank: number, stream: OutputStream, chunk: Buffer): void;
  /**
   * Told of conditions that do not stop the job (a Redis that may evict keys). Without it
   * those checks are skipped: a long-lived caller (the worker) makes them once at start
   * instead of once per job.
   */
  onWarning?(message: string): void;
  /** Aborting it cancels the job. */
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL when ranks are stopped, ms. @defaultValue 1000 */
  killGraceMs?: number;
  /**
   * Called once every rank has exited, before waiting for their output to drain: kills what
   * the ranks left running outside their process groups (the worker kills by user id).
   */
  reap?(): Promise<void>;
  /**
   * Bytes of messages sent to one rank that it has not received yet, past which the job
   * fails (the agent holds them in memory). @defaultValue 1 GiB
   */
  maxUnexpectedBytes?: number;
}

const STDERR_TAIL_BYTES = 4096;
const EXIT_TIMED_OUT = 124;
const EXIT_CANCELLED = 130;
/**
 * Expiry of the job's keys, a safety net in case cleanup never runs (cleanup deletes them).
 * Twice the time limit; a week without one, so a collective whose ranks arrive hours apart
 * still meets.
 */
const keyTtlMs = (timeoutMs: number | undefined): number =>
  timeoutMs === undefined ? 7 * 24 * 3_600_000 : Math.max(3_600_000, timeoutMs * 2);

interface Verdict {
  status: Exclude<JobOutcomeStatus, 'SUCCEEDED'>;
  exitCode: number;
  reason: string;
  failedRank?: number;
  infrastructure?: boolean;
}

/**
 * Runs one job on this host: np ranks of the script, served by agents whose rank traffic
 * goes through Redis. Resolves when every rank has exited and the job's Redis keys are
 * gone. Follows mpirun: the first rank to fail takes the whole job down.
 */
export async function runJob(options: RunJobOptions): Promise<JobOutcome> {
  const jobId = options.jobId ?? randomUUID();
  const keys = new JobKeys(options.keyPrefix, jobId);
  const agentCount = Math.max(1, Math.min(options.agents ?? 1, options.np));
  const placement = Array.from({ length: options.np }, (_, rank) => rank % agentCount);

  let verdict: Verdict | undefined;
  /** Set once every rank has exited: what happens during cleanup cannot change the outcome. */
  let settled = false;
  const ranks: RankProcess[] = [];
  let killTimer: NodeJS.Timeout | undefined;
  const fail = (next: Verdict): void => {
    if (verdict || settled) return;
    verdict = next;
    for (const rank of ranks) rank.kill('SIGTERM');
    killTimer = setTimeout(() => ranks.forEach((rank) => rank.kill('SIGKILL')), options.killGraceMs ?? 1000);
  };

  const agents: HostedAgent[] = [];
  try {
    for (let agent = 0; agent < agentCount; agent++) {
      agents.push(
        await startHostedAgent({
          redisUrl: options.redisUrl,
          keys,
          agent,
          placement,
          ttlMs: keyTtlMs(options.timeoutMs),
          hooks: {
            abort: (from, code) =>
              fail({ status: 'FAILED', exitCode: code, reason: `rank ${from} called MPI_Abort with code ${code}`, failedRank: from }),
            protocolError: (from, message) => {
              options.onOutput?.(from, 'stderr', Buffer.from(`mpiaas: ${message}\n`));
              fail({ status: 'FAILED', exitCode: 1, reason: `rank ${from}: ${message}`, failedRank: from });
            },
            internalError: (error) =>
              fail({ status: 'FAILED', exitCode: 1, reason: `the agent could not handle rank traffic: ${error.message}` }),
          },
          onFault: (error) =>
            fail({ status: 'FAILED', exitCode: 1, reason: `lost Redis: ${error.message}`, infrastructure: true }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(agents.map((agent) => agent.stop()));
    throw error;
  }
  const redis = (agents[0] as HostedAgent).commands;
  if (options.onWarning) {
    const warning = await evictionPolicyWarning(redis);
    if (warning) options.onWarning(warning);
  }

  const tails = Array.from({ length: options.np }, () => new OutputTail(STDERR_TAIL_BYTES));
  const startedAt = new Date();
  const finishedAt: (Date | undefined)[] = [];
  for (let rank = 0; rank < options.np; rank++) {
    const process_ = new RankProcess({
      rank,
      python: options.python,
      ...(options.wrapper ? { wrapper: options.wrapper } : {}),
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
      script: options.script,
      args: options.args ?? [],
      cwd: options.cwd,
      env: rankEnvironment({
        rank,
        size: options.np,
        jobId,
        ...(options.inheritEnv ? { inherited: process.env } : {}),
        ...(options.env ? { extra: options.env } : {}),
        ...(options.shimPath ? { shimPath: options.shimPath } : {}),
      }),
      ...(rank === 0 && options.stdin ? { stdin: options.stdin } : {}),
    });
    ranks.push(process_);
    for (const stream of ['stdout', 'stderr'] as const) {
      process_.child[stream]?.on('data', (chunk: Buffer) => {
        if (stream === 'stderr') tails[rank]?.push(chunk);
        options.onOutput?.(rank, stream, chunk);
      });
    }
    const endpoint = agents[placement[rank] as number]?.agent.attach(rank, process_.channel, {
      maxUnexpectedBytes: options.maxUnexpectedBytes ?? 1024 ** 3,
    });
    void process_.exited.then(async (exit) => {
      finishedAt[rank] = new Date();
      if (exit.code === 0) {
        // Like mpirun: a rank that used MPI and left without MPI_Finalize while others run
        // (os._exit, a crash in a C extension) would leave them waiting for it forever.
        await process_.closed;
        if (endpoint?.greeted && !endpoint.finalized && ranks.some((other) => other.running)) {
          fail({ status: 'FAILED', exitCode: 1, reason: `rank ${rank} exited without calling MPI_Finalize`, failedRank: rank });
        }
        return;
      }
      const reason =
        exit.signal !== null ? `rank ${rank} was killed by signal ${exit.signal}` : `rank ${rank} exited with code ${exit.code}`;
      const exitCode = exit.signal !== null ? 128 + (osConstants.signals[exit.signal] ?? 0) : (exit.code ?? 1);
      fail({ status: 'FAILED', exitCode, reason, failedRank: rank });
    });
  }

  const timeout =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            fail({ status: 'TIMED_OUT', exitCode: EXIT_TIMED_OUT, reason: `time limit of ${options.timeoutMs! / 1000}s exceeded` }),
          options.timeoutMs,
        );
  const onCancel = (): void => fail({ status: 'CANCELLED', exitCode: EXIT_CANCELLED, reason: 'cancelled' });
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener('abort', onCancel, { once: true });

  try {
    await Promise.all(ranks.map((rank) => rank.exited));
  } finally {
    settled = true;
    clearTimeout(timeout);
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onCancel);
    // Reap whatever a rank left behind in its process group, then let the output drain.
    for (const rank of ranks) rank.killGroup('SIGKILL');
    await options.reap?.();
    await Promise.race([Promise.all(ranks.map((rank) => rank.closed)), delay(2000)]);
    // Agent 0 cleans up last, after the others' in-flight commands have drained and its own
    // inbox reader has stopped (nothing may recreate a key after the delete).
    await Promise.all(agents.slice(1).map((agent) => agent.stop()));
    await agents[0]?.stopInbox();
    await deleteJobKeys(redis, keys);
    await agents[0]?.stop();
  }

  return outcomeOf(verdict, ranks, tails, startedAt, finishedAt);
}

function outcomeOf(
  verdict: Verdict | undefined,
  ranks: readonly RankProcess[],
  tails: readonly OutputTail[],
  startedAt: Date,
  finishedAt: readonly (Date | undefined)[],
): JobOutcome {
  const outcome: JobOutcome = {
    status: verdict?.status ?? 'SUCCEEDED',
    exitCode: verdict?.exitCode ?? 0,
    ranks: ranks.map((rank, index) => ({
      rank: index,
      exitCode: rank.exit?.code ?? null,
      signal: rank.exit?.signal ?? null,
      startedAt,
      finishedAt: finishedAt[index],
    })),
  };
  if (verdict) {
    outcome.reason = verdict.reason;
    if (verdict.infrastructure) outcome.infrastructure = true;
    if (verdict.failedRank !== undefined) {
      outcome.failedRank = verdict.failedRank;
      outcome.stderrTail = tails[verdict.failedRank]?.text() ?? '';
    }
  }
  return outcome;
}

/** Removes every key of the job, whatever state the job ended in. */
export async function deleteJobKeys(redis: Redis, keys: JobKeys): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern(), 'COUNT', 1000);
    if (found.length > 0) await redis.unlink(...found);
    cursor = next;
  } while (cursor !== '0');
}
