import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type pg from 'pg';

/**
 * The token of an app's small node-postgres pool beside its Prisma client, for the
 * statements of its hot path (each app's pg-pool.ts says which, and how many connections).
 */
export const PG_POOL = Symbol('PG_POOL');

/** Closes the PG_POOL pool when the app shuts down. */
@Injectable()
export class PgPoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
