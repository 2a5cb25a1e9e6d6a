import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type pg from 'pg';

/**
 * A small node-postgres pool beside the Prisma client, for the one statement of the hot path
 * (JobRepository.createQueuedMany): a raw query through Prisma costs about a millisecond of
 * CPU by itself, four times what the same query costs here, and POST /jobs runs hundreds of
 * them a second. Everything else goes through Prisma.
 */
export const PG_POOL = Symbol('PgPool');

/** Connections of the pool: batches of submissions in flight at once, with room to spare. */
export const PG_POOL_SIZE = 4;

/** Closes the pool when the app shuts down. */
@Injectable()
export class PgPoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
