/**
 * Gang placement: where a job's ranks run. A job starts only once all its ranks have slots
 * across the live workers, reserved in one atomic step; workers advertise their slots with a
 * heartbeat. The api reads the scheduler's state (why a job waits); the workers write it.
 */

/** `pack`: as few workers as possible (the default); `spread`: as many as possible. */
export const PLACEMENT_POLICIES = ['pack', 'spread'] as const;
export type PlacementPolicy = (typeof PLACEMENT_POLICIES)[number];

/** Why a QUEUED job has not started, as GET /jobs/{id} shows it. */
export interface PendingView {
  reason: string;
  /** Slots the job needs (its np; fewer when oversubscribing a cluster smaller than np). */
  slotsNeeded: number;
  /** Free slots over all live workers right now. */
  slotsFree: number;
}

/**
 * How long a job taken out of the line for good is remembered (SchedulerKeys.gone): longer
 * than any worker holding its queue entry asks again with what it read before.
 */
export const GONE_KEEP_MS = 60 * 60 * 1000;

/** Redis names of the scheduler's state, under the queue prefix (shared by every api and worker). */
export class SchedulerKeys {
  private readonly base: string;

  constructor(queuePrefix: string) {
    // One hash tag, so the placement script may touch every key in Redis Cluster too.
    this.base = `${queuePrefix}:{sched}:`;
  }

  /** Hash: worker id → its slots. */
  get workers(): string {
    return `${this.base}workers`;
  }

  /**
   * Hash: worker id → the agent protocol it speaks (AGENT_PROTOCOL_VERSION): a job is placed
   * only on workers speaking its leader's.
   */
  get versions(): string {
    return `${this.base}versions`;
  }

  /** Sorted set: worker id → time of its last heartbeat (Redis clock, ms). */
  get heartbeats(): string {
    return `${this.base}heartbeats`;
  }

  /** Sorted set: waiting job id → its place in line (submission time, ms). */
  get pending(): string {
    return `${this.base}pending`;
  }

  /** Hash: waiting job id → what placement needs to know of it (JSON). */
  get pendingJobs(): string {
    return `${this.base}pending-jobs`;
  }

  /** Hash: running job id → its allocation, leader and time-limit end (JSON). */
  get running(): string {
    return `${this.base}running`;
  }

  /**
   * Sorted set: job id → when it left the line for good (cancelled, ended; Redis clock, ms),
   * kept GONE_KEEP_MS. Placement refuses these: a worker that read a job as QUEUED just
   * before it was cancelled cannot put it back in line, nor reserve slots for it.
   */
  get gone(): string {
    return `${this.base}gone`;
  }

  /** Hash: waiting job id → PendingView (JSON), written by the last placement attempt. */
  get waitReasons(): string {
    return `${this.base}why`;
  }

  /** List of start orders for one worker: shares of jobs placed on it by another worker. */
  orders(workerId: string): string {
    return `${this.base}orders:${workerId}`;
  }

  /** List of the reports of shares of jobs one worker leads (read by the same loop as its orders). */
  reports(workerId: string): string {
    return `${this.base}reports:${workerId}`;
  }
}

/**
 * Takes a job out of the line for good (cancelled, ended) and remembers it as gone for
 * GONE_KEEP_MS, so that placement refuses it. One script, for the api's cancels and the
 * workers' alike. KEYS: forgetKeys(); ARGV: job id, GONE_KEEP_MS.
 */
export const FORGET_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[2]))
return 1
`;

/** FORGET_SCRIPT's keys, in its order. */
export function forgetKeys(keys: SchedulerKeys): string[] {
  return [keys.pending, keys.pendingJobs, keys.waitReasons, keys.gone];
}
