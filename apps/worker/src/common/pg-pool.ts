import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type pg from 'pg';
import { createPgPool } from '@mpiaas/db';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

/**
 * A small node-postgres pool beside the Prisma client, for the statements every job runs
 * (JobExecutionRepository: its spec, its claim, its final status, its output): a raw query
 * through Prisma costs about a millisecond of CPU by itself, several times the query through
 * pg, and a worker runs them for every job. Everything else goes through Prisma.
 */
export const PG_POOL = Symbol('PG_POOL');

/** Connections: a job's statements are one at a time, jobs in flight share them. */
const PG_POOL_SIZE = 4;

export const pgPoolProvider: Provider = {
  provide: PG_POOL,
  inject: [WORKER_CONFIG],
  useFactory: (config: WorkerConfig): pg.Pool => createPgPool(config.DATABASE_URL, PG_POOL_SIZE),
};

/** Closes the pool when the worker stops. */
@Injectable()
export class PgPoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
