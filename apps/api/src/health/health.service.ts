import { Inject, Injectable } from '@nestjs/common';
import { PrismaClient } from '@mpiaas/db';
import { Redis } from 'ioredis';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { withTimeout } from '../common/with-timeout';
import { JobQueue } from '../queue/job-queue';

export type CheckName = 'database' | 'redis' | 'queue';
export type Readiness = Record<CheckName, 'ok' | string>;

/** Whether every dependency answers, each within REDIS_TIMEOUT_MS. */
@Injectable()
export class HealthService {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(PrismaClient) private readonly db: PrismaClient,
    private readonly redis: Redis,
    private readonly queue: JobQueue,
  ) {}

  async readiness(): Promise<Readiness> {
    const ms = this.config.redisTimeoutMs;
    const [database, redis, queue] = await Promise.all([
      outcome(withTimeout(this.db.$queryRaw`SELECT 1`, ms, 'database')),
      outcome(withTimeout(this.redis.ping(), ms, 'redis')),
      outcome(this.queue.ping()),
    ]);
    return { database, redis, queue };
  }
}

async function outcome(check: Promise<unknown>): Promise<'ok' | string> {
  try {
    await check;
    return 'ok';
  } catch (error) {
    // Prisma's messages start with a multi-line call site; the cause is on the last line.
    const message = error instanceof Error ? error.message : String(error);
    return message.trim().split('\n').filter(Boolean).at(-1) ?? 'failed';
  }
}
