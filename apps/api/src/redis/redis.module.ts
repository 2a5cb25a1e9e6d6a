import { Global, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { API_CONFIG, type ApiConfig } from '../config/api-config';

function createRedis(config: ApiConfig): Redis {
  const logger = new Logger('Redis');
  const redis = new Redis(config.redisUrl, {
    connectTimeout: config.redisTimeoutMs,
    // Fail a command after one reconnect attempt rather than queueing it for long: the
    // request that sent it has its own deadline (REDIS_TIMEOUT_MS).
    maxRetriesPerRequest: 1,
  });
  // ioredis emits 'error' on every failed reconnect; say it once per outage.
  let healthy = true;
  redis.on('error', (error: Error) => {
    if (healthy) logger.warn(`connection lost: ${error.message}`);
    healthy = false;
  });
  redis.on('ready', () => {
    if (!healthy) logger.log('connection restored');
    healthy = true;
  });
  return redis;
}

@Injectable()
class RedisShutdown implements OnApplicationShutdown {
  constructor(private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    // quit() waits for a reply that never comes while disconnected.
    if (this.redis.status === 'ready') await this.redis.quit();
    else this.redis.disconnect();
  }
}

/** One Redis connection for the app: the queue's commands, the control channel, readiness. */
@Global()
@Module({
  providers: [{ provide: Redis, inject: [API_CONFIG], useFactory: createRedis }, RedisShutdown],
  exports: [Redis],
})
export class RedisModule {}
