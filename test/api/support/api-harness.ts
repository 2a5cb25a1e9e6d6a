// One api per test file, as in production but on a throwaway database and queue prefix.
import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createPrismaClient, migrate, type PrismaClient } from '@mpiaas/db';
import { QueueName, type RunJobPayload } from '@mpiaas/contracts';
import { loadConfig, type ApiConfig } from '../../../apps/api/src/config/api-config';
import { createApp } from '../../../apps/api/src/create-app';
// The db package's own test helper (not part of its public entry point).
import { dropDatabase, uniqueDatabaseUrl } from '../../../packages/db/src/testing/test-database';

export const REDIS_URL = process.env.MPIAAS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface ApiHarness {
  app: INestApplication;
  /** For supertest: `request(api.server)`. */
  server: ReturnType<INestApplication['getHttpServer']>;
  /** Where it listens (loopback, a free port): for clients that read a stream as it comes. */
  url: string;
  config: ApiConfig;
  /** The same database, to look at what the api wrote and to play the worker. */
  db: PrismaClient;
  /** The api's queue, seen from outside. */
  queue: Queue<RunJobPayload>;
  /** A spare connection (subscriptions, key checks). */
  redis: Redis;
  /** Closes the app only (idempotent); close() does the rest. */
  closeApp(): Promise<void>;
  close(): Promise<void>;
}

/** Environment overrides in the api's own terms (MAX_NP: '4', ...). */
export async function startApi(env: Record<string, string> = {}, options: Parameters<typeof createApp>[1] = {}): Promise<ApiHarness> {
  const databaseUrl = uniqueDatabaseUrl('mpiaas_api_test');
  await migrate(databaseUrl);
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    QUEUE_PREFIX: `test-api-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: process.env.MPIAAS_TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const app = await createApp(config, options);
  await app.listen(0, '127.0.0.1');
  const db = createPrismaClient(databaseUrl, { pool: { max: 4 } });
  const queue = new Queue<RunJobPayload>(QueueName.MpiJobs, { connection: { url: REDIS_URL }, prefix: config.queuePrefix });
  const redis = new Redis(REDIS_URL);
  let appClosed: Promise<void> | undefined;
  const closeApp = () => (appClosed ??= app.close());

  return {
    app,
    server: app.getHttpServer(),
    url: await app.getUrl(),
    config,
    db,
    queue,
    redis,
    closeApp,
    async close() {
      await closeApp();
      await queue.close();
      await deleteKeys(redis, `${config.queuePrefix}:*`);
      redis.disconnect();
      await db.$disconnect();
      await dropDatabase(databaseUrl);
    },
  };
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  for await (const keys of redis.scanStream({ match: pattern, count: 500 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
}

/** A valid request body, with overrides. */
export function jobBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { script: 'from mpi4py import MPI\nprint(MPI.COMM_WORLD.Get_rank())\n', np: 2, ...overrides };
}
