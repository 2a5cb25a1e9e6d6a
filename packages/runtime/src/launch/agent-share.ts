import { constants as osConstants } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { AgentHeartbeat } from '../redis/agent-presence';
import type { ShareVerdict } from '../redis/envelope';
import { evictionPolicyWarning } from '../redis/eviction-policy';
import { JobKeys } from '../redis/job-keys';
import { agentCountOf } from '../redis/placement';
import { rankSpawnOptions, type RankStartOptions } from './rank-spawn-options';
import { AgentLiveness } from './agent-liveness';
import { DeadlockWatch } from './deadlock-watch';
import { diagnosisKind, rankDiagnosis, type DiagnosisKind, type RankDiagnosis } from './diagnosis';
import type { RankEndpoint } from '../engine/rank-endpoint';
import { deleteJobKeys } from './delete-job-keys';
import type { AgentHost } from './agent-host';
import type { AgentHooks, SharedMemory } from '../engine/agent';
import { startLocalAgent } from './local-agent';
import type { RankOutcome } from './job-outcome';
import { OutputTail } from './output-tail';
import type { RankProfile } from './profile';
import { RankProcess, type RankHandle, type RankSpawner } from './rank-process';

export type OutputStream = 'stdout' | 'stderr';

/** What one agent runs of a job: the ranks `placement` gives it, on this host. */
export interface AgentShareOptions extends RankStartOptions {
  /** A name per agent for failure reasons, e.g. the worker id. @defaultValue "agent N" */
  agentNames?: readonly string[];
  /** Starts each rank; by default as a child process of this agent. */
  spawnRank?: RankSpawner;
  /** Wall-clock limit of the job, ms, counted from the moment every agent is there. */
  timeoutMs?: number;
  /**
   * Where the job's agents meet. Absent: the job's only agent runs it without Redis (every
   * rank here, as `mpiaas exec` on one agent); a job of several agents needs it, and so does
   * one that must heartbeat, unless given `sharedRedis`.
   */
  redisUrl?: string;
  /**
   * A connection the caller keeps open across jobs (the worker's). A job of one agent that
   * must heartbeat does it through this and opens no connection of its own: its ranks'
   * traffic never reaches Redis. Jobs of several agents still open theirs (an inbox reader
   * blocks its connection).
   */
  sharedRedis?: Redis;
  /** Prefix of every Redis key, e.g. "mpi:". */
  keyPrefix: string;
  onOutput?(rank: number, stream: OutputStream, chunk: Buffer): void;
  /** Told of conditions that do not stop the job (a Redis that may evict keys); agent 0 checks. */
  onWarning?(message: string): void;
  /**
   * Aborting it cancels the job (on every agent: this one tells the others); abort it with a
   * StopVerdict as the reason to end the job otherwise.
   */
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL when ranks are stopped, ms. @defaultValue 1000 */
  killGraceMs?: number;
  /** Called once every hosted rank has exited: kills what they left outside their process groups. */
  reap?(): Promise<void>;
  /**
   * End the job as FAILED ("deadlock: …") when every rank is blocked in MPI with nothing in
   * flight that could free one (checked every second, declared after 3 s). @defaultValue true
   */
  detectDeadlocks?: boolean;
  /**
   * Bytes of the job's data this agent may hold for its ranks (messages not received yet,
   * collectives not complete, results not waited for, frames being read) before the job
   * fails: the agent's memory is outside the ranks' limits. @defaultValue 2 GiB
   */
  maxHeldBytes?: number;
  /**
   * Where the ranks of this agent pass large bcasts and messages to each other as files
   * (PROTOCOL.md, "Shared memory"). Absent: everything goes through the agent.
   */
  sharedMemory?: SharedMemory;
  /** How long agents wait for each other at the start before the job fails. @defaultValue 30 s */
  rendezvousTimeoutMs?: number;
  /** An agent whose heartbeat is older than this is lost (its worker died or was cut off). @defaultValue 3 s */
  heartbeatTimeoutMs?: number;
  /**
   * Heartbeat even as the job's only agent, so that someone outside (the service's job
   * leader on another worker) can tell it is alive. Several agents always do.
   */
  heartbeat?: boolean;
  /**
   * Leave the job's keys to the caller, who deletes them once every agent has reported (the
   * service's leader, which also watches agents' heartbeats and departures until then).
   * Otherwise the last agent to leave deletes them.
   */
  keepKeys?: boolean;
}

/** A verdict to abort a share with (AbortController.abort(verdict)) instead of a plain cancel. */
export type StopVerdict = Omit<ShareVerdict, 'at'>;

function isVerdict(reason: unknown): reason is StopVerdict {
  return typeof reason === 'object' && reason !== null && 'status' in reason && 'reason' in reason && 'exitCode' in reason;
}

/** How one agent's share of a job ended. */
export interface ShareOutcome {
  agent: number;
  /** Where this agent's ranks stood when a deadlock, mismatch, timeout or cancel stopped them. */
  diagnosis?: { kind: DiagnosisKind; ranks: RankDiagnosis[] };
  /** What the hosted ranks that reached Finalize measured of their MPI calls. */
  profiles?: RankProfile[];
  /** Absent when every hosted rank finished and nobody ended the job early. */
  verdict?: ShareVerdict & {
    /** 'local': this agent saw it happen; 'remote': another agent told it. */
    origin: 'local' | 'remote';
    /** Last lines of the failed rank's stderr, when this agent hosts that rank. */
    stderrTail?: string;
  };
  ranks: RankOutcome[];
}

const STDERR_TAIL_BYTES = 4096;
const EXIT_TIMED_OUT = 124;
const EXIT_CANCELLED = 130;
const DEFAULT_RENDEZVOUS_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 3000;

/**
 * Expiry of the job's keys, a safety net in case cleanup never runs (cleanup deletes them).
 * Twice the time limit; a week without one, so a collective whose ranks arrive hours apart
 * still meets.
 */
export const keyTtlMs = (timeoutMs: number | undefined): number =>
  timeoutMs === undefined ? 7 * 24 * 3_600_000 : Math.max(3_600_000, timeoutMs * 2);

/**
 * Runs one agent's share of a job: meets the job's other agents in Redis (when there are
 * several), starts the ranks it hosts, serves their traffic and resolves once they have
 * exited and the agent has left. Follows mpirun: the first failure anywhere ends the job
 * everywhere — the agent that sees it tells the others through their inboxes, and an agent
 * whose peer stops heartbeating ends the job as `worker lost`. The last agent to leave
 * deletes the job's keys.
 */
export async function runAgentShare(options: AgentShareOptions): Promise<ShareOutcome> {
  const keys = new JobKeys(options.keyPrefix, options.jobId);
  const agentCount = agentCountOf(options.placement);
  const nameOf = (agent: number): string => options.agentNames?.[agent] ?? `agent ${agent}`;
  const hosted = options.placement.flatMap((agent, rank) => (agent === options.agent ? [rank] : []));

  let verdict: ShareOutcome['verdict'];
  /** Set once every hosted rank has exited: what happens during cleanup cannot change the outcome. */
  let settled = false;
  const ranks = new Map<number, RankHandle>();
  const endpoints = new Map<number, RankEndpoint>();
  let diagnosis: ShareOutcome['diagnosis'];
  /** Ranks are asked where they are (≤ 1 s) before they are stopped. */
  let diagnosed: Promise<void> = Promise.resolve();
  const tails = new Map<number, OutputTail>();
  let killTimer: NodeJS.Timeout | undefined;
  /** Tells the job's other agents it is over (set once this agent's transport is up). */
  let tellOthers: (verdict: ShareVerdict) => void = () => undefined;
  let ready: () => void = () => undefined;
  const allArrived = new Promise<void>((resolve) => (ready = resolve));
  let ended: () => void = () => undefined;
  const endedEarly = new Promise<void>((resolve) => (ended = resolve));

  const stopRanks = (): void => {
    for (const rank of ranks.values()) rank.kill('SIGTERM');
    killTimer = setTimeout(() => ranks.forEach((rank) => rank.kill('SIGKILL')), options.killGraceMs ?? 1000);
  };
  /** Stops the ranks, after asking them where they are if the verdict calls for a diagnosis. */
  const stopRanksFor = (told: Pick<ShareVerdict, 'status' | 'reason'>): void => {
    const kind = diagnosisKind(told);
    if (!kind) return stopRanks();
    diagnosed = Promise.all(
      [...endpoints.values()].map(async (endpoint) => rankDiagnosis(endpoint.state(), await endpoint.requestStack())),
    ).then(
      (local) => {
        diagnosis = { kind, ranks: local };
        stopRanks();
      },
      () => stopRanks(),
    );
  };
  const fail = (next: Omit<ShareVerdict, 'at'>): void => {
    if (verdict || settled) return;
    const at = Date.now();
    const stderrTail = next.failedRank === undefined ? undefined : tails.get(next.failedRank)?.text();
    verdict = { ...next, at, origin: 'local', ...(stderrTail === undefined ? {} : { stderrTail }) };
    if (agentCount > 1) tellOthers({ ...next, at });
    ended();
    stopRanksFor(next);
  };
  const failRemote = (from: number, told: ShareVerdict): void => {
    if (verdict || settled || from === options.agent) return;
    verdict = { ...told, origin: 'remote' };
    ended();
    stopRanksFor(told);
  };

  const hooks: AgentHooks = {
    abort: (from, code) =>
      fail({ status: 'FAILED', exitCode: code, reason: `rank ${from} called MPI_Abort with code ${code}`, failedRank: from }),
    protocolError: (from, message) => {
      options.onOutput?.(from, 'stderr', Buffer.from(`mpiaas: ${message}\n`));
      fail({ status: 'FAILED', exitCode: 1, reason: `rank ${from}: ${message}`, failedRank: from });
    },
    internalError: (error) =>
      fail({ status: 'FAILED', exitCode: 1, reason: `the agent could not handle rank traffic: ${error.message}` }),
    ready: () => ready(),
    ended: (from, told) => failRemote(from, told),
    mismatch: (message) => fail({ status: 'FAILED', exitCode: 1, reason: message }),
    // a hosted rank's traffic took it over: as that rank's protocol error (its stderr says so)
    heldTooMuch: (message, rank) =>
      rank === undefined ? fail({ status: 'FAILED', exitCode: 1, reason: message }) : hooks.protocolError(rank, message),
  };
  const hostedAgent = await startAgent(options, hooks, keys, (error) =>
    fail({ status: 'FAILED', exitCode: 1, reason: `lost Redis: ${error.message}`, infrastructure: true }),
  );
  const redis = hostedAgent.redis;
  if (redis) tellOthers = (told) => redis.transport.broadcast({ t: 'k', a: options.agent, v: told });
  if (redis && options.onWarning && options.agent === 0) {
    const warning = await evictionPolicyWarning(redis.commands);
    if (warning) options.onWarning(warning);
  }

  const deadlocks =
    options.detectDeadlocks === false
      ? undefined
      : new DeadlockWatch({
          agent: options.agent,
          agentCount,
          snapshot: () => hostedAgent.agent.snapshot(),
          ...(redis ? { redis: { commands: redis.commands, keys, ttlMs: keyTtlMs(options.timeoutMs) } } : {}),
          onDeadlock: (summary) => fail({ status: 'FAILED', exitCode: 1, reason: `deadlock: ${summary}` }),
        });

  // A local agent heartbeats on the caller's connection, if it must (startAgent).
  const localHeartbeat = !redis && options.sharedRedis ? new AgentHeartbeat(options.sharedRedis, keys, options.agent) : undefined;
  const presence = redis?.transport ?? localHeartbeat;
  const liveness =
    presence && (agentCount > 1 || options.heartbeat)
      ? new AgentLiveness(presence, options.agent, agentCount, options.heartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_MS, {
          selfLost: (why) =>
            fail({ status: 'FAILED', exitCode: 1, reason: `worker lost: ${nameOf(options.agent)} (cut off from Redis: ${why})`, infrastructure: true }),
          peerLost: (agent) => fail({ status: 'FAILED', exitCode: 1, reason: `worker lost: ${nameOf(agent)}`, infrastructure: true }),
        })
      : undefined;

  // An abort reason that is a verdict (a worker shutting down) ends the job as it says.
  const cancel = (): void =>
    fail(isVerdict(options.signal?.reason) ? options.signal.reason : { status: 'CANCELLED', exitCode: EXIT_CANCELLED, reason: 'cancelled' });
  if (options.signal?.aborted) cancel();
  options.signal?.addEventListener('abort', cancel, { once: true });
  let timeout: NodeJS.Timeout | undefined;
  const startedAt = new Date();
  const finishedAt = new Map<number, Date>();

  try {
    if (liveness && !verdict) await liveness.start();
    if (redis && agentCount > 1 && !verdict) {
      const { transport } = redis;
      await transport.arrive();
      await meetPeers(allArrived, endedEarly, options.rendezvousTimeoutMs ?? DEFAULT_RENDEZVOUS_MS, async (waitedMs) => {
        const arrived = new Set(await transport.arrivedAgents());
        const missing = Array.from({ length: agentCount }, (_, agent) => agent).filter((agent) => !arrived.has(agent));
        fail({
          status: 'FAILED',
          exitCode: 1,
          reason: `rendezvous: ${missing.map(nameOf).join(', ')} never arrived within ${waitedMs / 1000}s`,
          infrastructure: true,
        });
      });
      liveness?.watchPeers();
    }
    if (!verdict) {
      for (const rank of hosted) startRank(rank);
      deadlocks?.start();
      if (options.timeoutMs !== undefined) {
        timeout = setTimeout(
          () => fail({ status: 'TIMED_OUT', exitCode: EXIT_TIMED_OUT, reason: `time limit of ${options.timeoutMs! / 1000}s exceeded` }),
          options.timeoutMs,
        );
      }
    }
    await Promise.all([...ranks.values()].map((rank) => rank.exited));
  } finally {
    settled = true;
    await deadlocks?.finish();
    clearTimeout(timeout);
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', cancel);
    // Reap whatever a rank left behind in its process group, then let the output drain.
    for (const rank of ranks.values()) rank.killGroup('SIGKILL');
    await options.reap?.();
    await Promise.race([Promise.all([...ranks.values()].map((rank) => rank.closed)), delay(2000)]);
    liveness?.stop();
    await leave(hostedAgent, keys, agentCount, !options.keepKeys, liveness ? localHeartbeat : undefined, keyTtlMs(options.timeoutMs));
  }

  await diagnosed;
  const profiles = [...endpoints].flatMap(([rank, endpoint]) => (endpoint.profile ? [{ rank, ...endpoint.profile }] : []));
  return {
    agent: options.agent,
    ...(verdict ? { verdict } : {}),
    ...(diagnosis ? { diagnosis } : {}),
    ...(profiles.length ? { profiles } : {}),
    ranks: hosted.map((rank) => ({
      rank,
      exitCode: ranks.get(rank)?.exit?.code ?? null,
      signal: ranks.get(rank)?.exit?.signal ?? null,
      startedAt,
      finishedAt: finishedAt.get(rank),
    })),
  };

  function startRank(rank: number): void {
    const spawnRank: RankSpawner = options.spawnRank ?? ((spawnOptions) => new RankProcess(spawnOptions));
    const process_ = spawnRank(rankSpawnOptions(options, rank));
    ranks.set(rank, process_);
    const tail = new OutputTail(STDERR_TAIL_BYTES);
    tails.set(rank, tail);
    for (const stream of ['stdout', 'stderr'] as const) {
      process_[stream]?.on('data', (chunk: Buffer) => {
        if (stream === 'stderr') tail.push(chunk);
        options.onOutput?.(rank, stream, chunk);
      });
    }
    const endpoint = hostedAgent.agent.attach(rank, process_.channel);
    endpoints.set(rank, endpoint);
    void process_.exited.then(async (exit) => {
      finishedAt.set(rank, new Date());
      endpoint.processExited();
      if (exit.code === 0) {
        // Like mpirun: a rank that used MPI and left without MPI_Finalize while others run
        // (os._exit, a crash in a C extension) would leave them waiting for it forever.
        await process_.closed;
        if (endpoint?.greeted && !endpoint.finalized && [...ranks.values()].some((other) => other.running)) {
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
}

/**
 * Waits until every agent has arrived, the job ends early (cancel, a peer's verdict), or
 * `timeoutMs` passes — then `onTimeout` fails the job naming who is missing.
 */
async function meetPeers(
  allArrived: Promise<void>,
  endedEarly: Promise<void>,
  timeoutMs: number,
  onTimeout: (waitedMs: number) => Promise<void>,
): Promise<void> {
  const timer = new AbortController();
  const outcome = await Promise.race([
    allArrived.then(() => 'met' as const),
    endedEarly.then(() => 'ended' as const),
    delay(timeoutMs, 'timeout' as const, { signal: timer.signal }).catch(() => 'ended' as const),
  ]);
  timer.abort();
  if (outcome === 'timeout') await onTimeout(timeoutMs);
}

/**
 * Stops the agent and leaves the job; the last agent out deletes the job's keys, after the
 * others' in-flight commands have drained and its own inbox reader has stopped (nothing may
 * recreate a key after the delete). With one agent there is nobody to wait for.
 */
async function leave(
  hosted: AgentHost,
  keys: JobKeys,
  agentCount: number,
  cleanUp: boolean,
  localHeartbeat: AgentHeartbeat | undefined,
  ttlMs: number,
): Promise<void> {
  await hosted.stopInbox();
  const { redis } = hosted;
  if (!redis) {
    // A local agent that heartbeats (on the caller's connection) leaves as a hosted one does,
    // or removes its keys if nobody waits for its departure.
    if (localHeartbeat) await (cleanUp ? localHeartbeat.remove() : localHeartbeat.depart(ttlMs)).catch(() => undefined);
    return hosted.stop();
  }
  try {
    const last = cleanUp && agentCount === 1 ? true : await redis.transport.leave();
    if (last && cleanUp) await deleteJobKeys(redis.commands, keys, agentCount);
  } catch {
    // Redis is gone (the job already failed for it): the keys' expiry removes them.
  } finally {
    await hosted.stop();
  }
}

/**
 * The share's agent: on Redis when the job has several agents (or must heartbeat with no
 * shared connection to do it on), else local. The Redis client is loaded only then
 * (`mpiaas exec` on one agent never loads it).
 */
async function startAgent(options: AgentShareOptions, hooks: AgentHooks, keys: JobKeys, onFault: (error: Error) => void): Promise<AgentHost> {
  const single = agentCountOf(options.placement) === 1;
  const settings = {
    ...(options.maxHeldBytes === undefined ? {} : { maxHeldBytes: options.maxHeldBytes }),
    ...(options.sharedMemory === undefined ? {} : { sharedMemory: options.sharedMemory }),
  };
  if (options.redisUrl === undefined || (single && options.sharedRedis)) {
    if (!single) throw new Error('a job of several agents needs redisUrl');
    if (options.heartbeat && !options.sharedRedis) throw new Error('a job that heartbeats needs redisUrl or sharedRedis');
    return startLocalAgent({ jobId: options.jobId, placement: options.placement, hooks, ...settings });
  }
  const { startHostedAgent } = await import('./hosted-agent.js');
  return startHostedAgent({
    redisUrl: options.redisUrl,
    keys,
    agent: options.agent,
    placement: options.placement,
    ttlMs: keyTtlMs(options.timeoutMs),
    hooks,
    ...settings,
    onFault,
  });
}
