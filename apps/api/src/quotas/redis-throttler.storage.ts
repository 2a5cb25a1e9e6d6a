import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';

/**
 * One fixed window per key: INCR a counter that expires with the window; the request that
 * goes past the limit blocks the key until the window ends. One script, so concurrent
 * requests on several api replicas count exactly. Reply: hits, ms left in the window,
 * blocked (0/1), ms left of the block.
 */
const INCREMENT_SCRIPT = `
local hits_key, block_key = KEYS[1], KEYS[2]
local ttl, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local blocked_for = redis.call('PTTL', block_key)
if blocked_for > 0 then
  local hits = tonumber(redis.call('GET', hits_key) or '0')
  return {hits, math.max(redis.call('PTTL', hits_key), 0), 1, blocked_for}
end
local hits = redis.call('INCR', hits_key)
local left = redis.call('PTTL', hits_key)
if left < 0 then
  redis.call('PEXPIRE', hits_key, ttl)
  left = ttl
end
if hits > limit then
  redis.call('SET', block_key, '1', 'PX', left)
  return {hits, left, 1, left}
end
return {hits, left, 0, 0}
`;

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface ThrottleRedis extends Redis {
  mpiaasThrottle(hitsKey: string, blockKey: string, ttlMs: number, limit: number): Promise<[number, number, number, number]>;
}

/**
 * @nestjs/throttler's storage on Redis, shared by every api replica (its default storage is
 * one process's memory: N replicas would allow N times the limit). Written here rather than
 * taken from a package: the maintained Redis storages do not yet declare NestJS 12, and the
 * whole of it is the script above. The block lasts until the window ends, so Retry-After
 * says when the next request will be let through.
 */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly redis: ThrottleRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as ThrottleRedis;
    if (typeof this.redis.mpiaasThrottle !== 'function') {
      this.redis.defineCommand('mpiaasThrottle', { numberOfKeys: 2, lua: INCREMENT_SCRIPT });
    }
  }

  async increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    // One hash tag per key: both keys live in one Redis Cluster slot.
    const base = `${this.prefix}:throttle:${throttlerName}:{${key}}`;
    const [totalHits, leftMs, blocked, blockLeftMs] = await this.redis.mpiaasThrottle(`${base}:hits`, `${base}:block`, ttl, limit);
    return {
      totalHits,
      timeToExpire: Math.ceil(leftMs / 1000),
      isBlocked: blocked === 1,
      timeToBlockExpire: Math.max(1, Math.ceil(blockLeftMs / 1000)),
    };
  }
}
