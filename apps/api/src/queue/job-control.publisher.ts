import { Inject, Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { controlChannel, type ControlMessage } from '@mpiaas/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { withTimeout } from '../common/with-timeout';

/**
 * Tells the workers to act on a running job, at once. Postgres stays the source of truth
 * (`cancelRequested`): a worker that misses the message still sees the flag.
 */
@Injectable()
export class JobControlPublisher {
  private readonly channel: string;
  private readonly timeoutMs: number;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    private readonly redis: Redis,
  ) {
    this.channel = controlChannel(config.queuePrefix);
    this.timeoutMs = config.redisTimeoutMs;
  }

  async publish(message: ControlMessage): Promise<void> {
    await withTimeout(this.redis.publish(this.channel, JSON.stringify(message)), this.timeoutMs, 'publish control message');
  }
}
