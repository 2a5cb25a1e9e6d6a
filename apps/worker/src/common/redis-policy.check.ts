import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { evictionPolicyWarning } from '@mpiaas/runtime';
import { Redis } from 'ioredis';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

/**
 * Both the queue and rank traffic live in Redis: a Redis that evicts keys would lose jobs
 * and messages. Checked once at start; REDIS_EVICTION_CHECK=refuse makes it fatal.
 */
@Injectable()
export class RedisPolicyCheck implements OnModuleInit {
  private readonly logger = new Logger(RedisPolicyCheck.name);

  constructor(@Inject(WORKER_CONFIG) private readonly config: WorkerConfig) {}

  async onModuleInit(): Promise<void> {
    const redis = new Redis(this.config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const warning = await evictionPolicyWarning(redis);
      if (!warning) return;
      if (this.config.REDIS_EVICTION_CHECK === 'refuse') throw new Error(`refusing to start: ${warning}`);
      this.logger.warn(warning);
    } finally {
      redis.disconnect();
    }
  }
}
