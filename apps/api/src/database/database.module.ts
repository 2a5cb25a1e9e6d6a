import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { createPgPool, createPrismaClient, PrismaClient } from '@mpiaas/db';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { PgPoolShutdown } from '@mpiaas/service-kit';
import { PG_POOL, PG_POOL_SIZE } from './pg-pool';

/** Closes the connection pool when the app shuts down. */
@Injectable()
class DatabaseShutdown implements OnApplicationShutdown {
  // PrismaClient is a value plus a generic type alias: decorator metadata can't name it, so inject explicitly.
  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.$disconnect();
  }
}

/**
 * The Prisma client, under the token `PrismaClient`. Repositories (and the readiness check)
 * use it; services map its rows to views, so Prisma models never reach the HTTP layer. And a
 * small pg pool (PG_POOL) for the hot path's one statement.
 */
@Global()
@Module({
  providers: [
    { provide: PrismaClient, inject: [API_CONFIG], useFactory: (config: ApiConfig) => createPrismaClient(config.databaseUrl) },
    DatabaseShutdown,
    { provide: PG_POOL, inject: [API_CONFIG], useFactory: (config: ApiConfig) => createPgPool(config.databaseUrl, PG_POOL_SIZE) },
    PgPoolShutdown,
  ],
  exports: [PrismaClient, PG_POOL],
})
export class DatabaseModule {}
