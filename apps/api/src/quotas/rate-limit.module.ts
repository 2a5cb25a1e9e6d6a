import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { KeyThrottlerGuard, RATE_WINDOW_MS, requestsPerMinuteOf } from './key-throttler.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/**
 * The per-key rate limit (requestsPerMinute), counted in Redis. Imported right after AuthModule: global guards run in the order they are registered, and the
 * rate limiter needs the caller the AuthGuard found.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [API_CONFIG, Redis],
      useFactory: (config: ApiConfig, redis: Redis) => ({
        throttlers: [{ name: 'default', ttl: RATE_WINDOW_MS, limit: requestsPerMinuteOf }],
        storage: new RedisThrottlerStorage(redis, config.queuePrefix),
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: KeyThrottlerGuard }],
})
export class RateLimitModule {}
