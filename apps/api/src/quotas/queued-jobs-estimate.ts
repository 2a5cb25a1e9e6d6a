import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { withTimeout } from '../common/with-timeout';

/**
 * How long an estimate lives after it was counted in Postgres, ms. Jobs that leave the queue
 * free their room at the latest when it expires (sooner once the tenant is near its limit:
 * then every submission is counted exactly); a job a worker puts back in the queue is
 * counted again from then on.
 */
export const ESTIMATE_TTL_MS = 5000;

/**
 * If the tenant's estimate exists and leaves room for `k` more jobs, adds them and answers 1;
 * else 0 (the caller then counts in Postgres). INCRBY keeps the key's expiry.
 */
const RESERVE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if tonumber(current) + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1
`;

interface EstimateRedis extends Redis {
  mpiaasReserveQueued(key: string, count: number, limit: number): Promise<number>;
}

/**
 * An upper bound of each tenant's QUEUED jobs, shared by every api replica in Redis, so that
 * the maxQueuedJobs quota costs one Redis call per submission instead of a count over the
 * tenant's whole queue in Postgres (which grows with the queue: at 3000 queued jobs it cost
 * more than the rest of the request).
 *
 * The bound is the exact count taken in Postgres, plus every job admitted since, by any
 * replica; jobs leaving the queue are not subtracted, so it only overestimates — except for
 * jobs admitted on the estimate before it while the count was being taken, which it may miss:
 * the quota can be overshot by those requests in flight. Counts themselves take turns across
 * replicas (the tenant's queue lock in Postgres, held until their insert commits), so two
 * replicas counting at once, as they do whenever an estimate expires, never both admit the
 * last room. When the estimate says there is no room, the caller counts in Postgres: a
 * refusal always rests on an exact count.
 */
@Injectable()
export class QueuedJobsEstimate {
  private readonly redis: EstimateRedis;
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(@Inject(API_CONFIG) config: ApiConfig, redis: Redis) {
    this.redis = redis as EstimateRedis;
    if (typeof this.redis.mpiaasReserveQueued !== 'function') {
      this.redis.defineCommand('mpiaasReserveQueued', { numberOfKeys: 1, lua: RESERVE_SCRIPT });
    }
    this.prefix = config.queuePrefix;
    this.timeoutMs = config.redisTimeoutMs;
  }

  /** Adds `count` jobs to the tenant's estimate if it exists and stays within `limit`; false otherwise. */
  async reserve(tenantId: string, count: number, limit: number): Promise<boolean> {
    const reserved = this.redis.mpiaasReserveQueued(this.key(tenantId), count, limit);
    return (await withTimeout(reserved, this.timeoutMs, 'quota estimate')) === 1;
  }

  /** Adds `count` jobs admitted by an exact count to the tenant's estimate, if it has one. */
  async add(tenantId: string, count: number): Promise<void> {
    await this.reserve(tenantId, count, Number.MAX_SAFE_INTEGER);
  }

  /** A new estimate: `queued` just counted in Postgres, including the jobs about to be inserted. */
  async set(tenantId: string, queued: number): Promise<void> {
    await withTimeout(this.redis.set(this.key(tenantId), queued, 'PX', ESTIMATE_TTL_MS), this.timeoutMs, 'quota estimate');
  }

  private key(tenantId: string): string {
    // One hash tag per tenant (Redis Cluster: one slot per key, no multi-key script).
    return `${this.prefix}:quota:{${tenantId}}:queued`;
  }
}
