import type { Provider } from '@nestjs/common';
import type pg from 'pg';
import { createPgPool } from '@mpiaas/db';
import { PG_POOL } from '@mpiaas/service-kit';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

/**
 * The worker's small node-postgres pool (PG_POOL of @mpiaas/service-kit) beside the Prisma
 * client, for the statements every job runs (JobExecutionRepository: its spec, its claim, its
 * final status, its output): a raw query through Prisma costs about a millisecond of CPU by
 * itself, several times the query through pg, and a worker runs them for every job.
 * Everything else goes through Prisma.
 */
export { PG_POOL } from '@mpiaas/service-kit';

/** Connections: a job's statements are one at a time, jobs in flight share them. */
const PG_POOL_SIZE = 4;

export const pgPoolProvider: Provider = {
  provide: PG_POOL,
  inject: [WORKER_CONFIG],
  useFactory: (config: WorkerConfig): pg.Pool => createPgPool(config.DATABASE_URL, PG_POOL_SIZE),
};
