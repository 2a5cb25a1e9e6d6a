import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { FORGET_SCRIPT, GONE_KEEP_MS, SchedulerKeys, forgetKeys, type PendingView } from '@mpiaas/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { withTimeout } from '../common/with-timeout';

const CLUSTER_CACHE_MS = 1000;

/** What the api needs to know of a waiting job. */
export interface WaitingJob {
  id: string;
  np: number;
  oversubscribe: boolean;
}

/**
 * The api's read of the workers' scheduler state in Redis: why a QUEUED job waits. The
 * workers write a reason each time they try to place a job; a job no worker has tried yet
 * gets one from the live workers' slots.
 */
@Injectable()
export class SchedulerState {
  private readonly keys: SchedulerKeys;
  private readonly timeoutMs: number;
  /** The cluster's slots, read at most once per CLUSTER_CACHE_MS (POST /jobs is a hot path). */
  private cluster: { at: number; slots: Promise<{ total: number; free: number }> } | undefined;

  constructor(@Inject(API_CONFIG) config: ApiConfig, private readonly redis: Redis) {
    this.keys = new SchedulerKeys(config.queuePrefix);
    this.timeoutMs = config.redisTimeoutMs;
  }

  /**
   * Why each job waits, by id; a job whose reason cannot be read (Redis down) is left out.
   * `fresh`: the jobs were just submitted, no worker can have tried them yet.
   */
  async pendingOf(jobs: readonly WaitingJob[], fresh = false): Promise<Map<string, PendingView>> {
    const views = new Map<string, PendingView>();
    if (jobs.length === 0) return views;
    try {
      const recorded = fresh
        ? jobs.map(() => null)
        : await withTimeout(this.redis.hmget(this.keys.waitReasons, ...jobs.map((job) => job.id)), this.timeoutMs, 'scheduler');
      const untried = jobs.filter((_, index) => !recorded[index]);
      jobs.forEach((job, index) => {
        const raw = recorded[index];
        if (raw) views.set(job.id, JSON.parse(raw) as PendingView);
      });
      if (untried.length > 0) {
        const { total, free } = await withTimeout(this.cachedClusterSlots(), this.timeoutMs, 'scheduler');
        for (const job of untried) {
          views.set(job.id, {
            reason: total === 0 ? 'no live worker' : 'waiting for a worker to take it from the queue',
            slotsNeeded: job.oversubscribe && total > 0 ? Math.min(job.np, total) : job.np,
            slotsFree: free,
          });
        }
      }
    } catch {
      // A view without its wait reason beats no view: the job's record is in Postgres.
    }
    return views;
  }

  /**
   * Takes a cancelled job out of the scheduler's line at once, and for good: a worker that
   * read it as QUEUED just before cannot place it after this.
   */
  async forget(jobId: string): Promise<void> {
    const keys = forgetKeys(this.keys);
    await withTimeout(this.redis.eval(FORGET_SCRIPT, keys.length, ...keys, jobId, GONE_KEEP_MS), this.timeoutMs, 'scheduler');
  }

  private cachedClusterSlots(): Promise<{ total: number; free: number }> {
    const now = Date.now();
    if (!this.cluster || now - this.cluster.at > CLUSTER_CACHE_MS) {
      const slots = this.clusterSlots();
      this.cluster = { at: now, slots };
      slots.catch(() => (this.cluster = undefined));
    }
    return this.cluster.slots;
  }

  /** Slots of the workers heartbeating now, and how many are free. */
  private async clusterSlots(): Promise<{ total: number; free: number }> {
    const [capacities, beats, running] = await Promise.all([
      this.redis.hgetall(this.keys.workers),
      this.redis.zrange(this.keys.heartbeats, Date.now() - 10_000, '+inf', 'BYSCORE'),
      this.redis.hvals(this.keys.running),
    ]);
    const live = new Set(beats);
    let total = 0;
    // Negative: an exclusive worker (one job at a time) of that many slots.
    for (const [worker, slots] of Object.entries(capacities)) if (live.has(worker)) total += Math.abs(Number(slots));
    let used = 0;
    for (const raw of running) {
      const run = JSON.parse(raw) as { a: [string, number][] };
      for (const [worker, slots] of run.a) if (live.has(worker)) used += slots;
    }
    return { total, free: Math.max(0, total - used) };
  }
}
