import { Inject, Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { Redis } from 'ioredis';
import { FORGET_SCRIPT, GONE_KEEP_MS, SchedulerKeys, forgetKeys, type PendingView, type PlacementPolicy } from '@mpiaas/contracts';
import { AGENT_PROTOCOL_VERSION } from '@mpiaas/runtime';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { type TenantRankLimit, TenantRankQuota } from './tenant-rank-quota';
import { HEARTBEAT_SCRIPT, IS_LIVE_SCRIPT, PLACE_SCRIPT, RELEASE_SCRIPT } from './placement-scripts';

/** What placement needs to know of a job. */
export interface PlacementRequest {
  jobId: string;
  np: number;
  timeoutMs: number;
  /** Its place in line: the submission time, ms. */
  order: number;
  policy: PlacementPolicy;
  oversubscribe: boolean;
  /** Its tenant's running-ranks quota; looked up by job id when absent (TenantRankQuota). */
  tenant?: TenantRankLimit;
}

/** Slots of one worker given to a job. */
export interface WorkerSlots {
  worker: string;
  slots: number;
}

export type PlacementResult =
  | { placed: true; slots: WorkerSlots[] }
  /** `position`: how many jobs wait ahead of it. */
  | { placed: false; gone?: false; pending: PendingView; position: number }
  /** It left the line for good (cancelled, ended) since it was read: it never runs. */
  | { placed: false; gone: true };

/** A waiting job nobody has asked to place for this long leaves the line. */
const PENDING_STALE_MS = 15_000;

interface SchedulerRedis extends Redis {
  // Keys first, then arguments (numberOfKeys is fixed when the command is defined).
  mpiaasHeartbeat(...keysAndArgs: (string | number)[]): Promise<number>;
  mpiaasPlace(...keysAndArgs: (string | number)[]): Promise<(string | number)[]>;
  mpiaasRelease(...keysAndArgs: (string | number)[]): Promise<number>;
  mpiaasForget(...keysAndArgs: (string | number)[]): Promise<number>;
  mpiaasIsLive(...keysAndArgs: (string | number)[]): Promise<number>;
}

/**
 * The cluster's slots as this worker sees them: it advertises its own (heartbeat) and
 * places jobs it leads over all live workers, all or nothing (PLACE_SCRIPT).
 */
@Injectable()
export class GangScheduler implements OnApplicationShutdown {
  readonly keys: SchedulerKeys;
  private readonly redis: SchedulerRedis;
  /** Running entries, as PLACE_SCRIPT wrote them, of the jobs this worker placed and has not released. */
  private readonly led = new Map<string, string>();

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    // Optional so that the scheduler's spec can run on Redis alone, giving each job's tenant.
    @Optional() private readonly quotas?: TenantRankQuota,
  ) {
    this.keys = new SchedulerKeys(config.QUEUE_PREFIX);
    const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 }) as SchedulerRedis;
    redis.on('error', () => undefined); // surfaced by the failing commands
    redis.defineCommand('mpiaasHeartbeat', { numberOfKeys: 4, lua: HEARTBEAT_SCRIPT });
    redis.defineCommand('mpiaasPlace', { numberOfKeys: 8, lua: PLACE_SCRIPT });
    redis.defineCommand('mpiaasRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    redis.defineCommand('mpiaasForget', { numberOfKeys: 4, lua: FORGET_SCRIPT });
    redis.defineCommand('mpiaasIsLive', { numberOfKeys: 1, lua: IS_LIVE_SCRIPT });
    this.redis = redis;
  }

  /** The connection, for the worker's other scheduler traffic (orders, reports). */
  get connection(): Redis {
    return this.redis;
  }

  /**
   * Advertises (or renews) this worker's slots, an exclusive worker running one job at a
   * time, and writes again the running entries of its jobs that Redis lost. Returns how many.
   */
  async heartbeat(slots: number, exclusive = false): Promise<number> {
    return this.redis.mpiaasHeartbeat(
      this.keys.workers,
      this.keys.heartbeats,
      this.keys.running,
      this.keys.versions,
      this.config.WORKER_ID,
      exclusive ? -slots : slots,
      AGENT_PROTOCOL_VERSION,
      ...[...this.led].flat(),
    );
  }

  /** Takes this worker's slots off the cluster at once (shutdown), rather than after its heartbeat expires. */
  async deregister(): Promise<void> {
    const id = this.config.WORKER_ID;
    await this.redis.multi().hdel(this.keys.workers, id).zrem(this.keys.heartbeats, id).hdel(this.keys.versions, id).exec();
  }

  /** Reserves slots for every rank of the job in one step, or says why it must wait. */
  async place(request: PlacementRequest): Promise<PlacementResult> {
    if (request.tenant) this.quotas?.remember(request.jobId, request.tenant);
    const tenant = request.tenant ?? (await this.quotas?.of(request.jobId));
    const reply = await this.redis.mpiaasPlace(
      this.keys.workers,
      this.keys.heartbeats,
      this.keys.pending,
      this.keys.pendingJobs,
      this.keys.running,
      this.keys.waitReasons,
      this.keys.versions,
      this.keys.gone,
      request.jobId,
      request.np,
      request.timeoutMs,
      request.order,
      request.policy,
      request.oversubscribe ? '1' : '0',
      this.config.WORKER_ID,
      this.config.WORKER_TIMEOUT_MS,
      PENDING_STALE_MS,
      tenant?.tenantId ?? '',
      tenant?.maxRunningRanks ?? 0,
      AGENT_PROTOCOL_VERSION,
    );
    if (Number(reply[0]) === 2) return { placed: false, gone: true };
    if (Number(reply[0]) === 1) {
      this.led.set(request.jobId, String(reply[1]));
      const slots: WorkerSlots[] = [];
      for (let i = 2; i < reply.length; i += 2) slots.push({ worker: String(reply[i]), slots: Number(reply[i + 1]) });
      return { placed: true, slots };
    }
    return {
      placed: false,
      pending: { reason: String(reply[1]), slotsNeeded: Number(reply[2]), slotsFree: Number(reply[3]) },
      position: Number(reply[4]),
    };
  }

  /** Gives back the slots of a job this worker placed. */
  async release(jobId: string): Promise<void> {
    // Forgotten first: a heartbeat sent after this cannot write it again, and one sent before
    // runs before the release (one connection, in order).
    this.led.delete(jobId);
    await this.redis.mpiaasRelease(this.keys.running, jobId, this.config.WORKER_ID);
  }

  /** Takes a job out of the line for good (it will never be placed: cancelled, final). */
  async forget(jobId: string): Promise<void> {
    await this.redis.mpiaasForget(...forgetKeys(this.keys), jobId, GONE_KEEP_MS);
  }

  /** Whether `workerId` heartbeats (a job's leader, watched by the workers running its ranks). */
  async isLive(workerId: string): Promise<boolean> {
    return (await this.redis.mpiaasIsLive(this.keys.heartbeats, workerId, this.config.WORKER_TIMEOUT_MS)) === 1;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.deregister().catch(() => undefined);
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
