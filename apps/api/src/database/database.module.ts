import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { createPrismaClient, PrismaClient } from '@mpiaas/db';
import { API_CONFIG, type ApiConfig } from '../config/api-config';

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
 * use it; services map its rows to views, so Prisma models never reach the HTTP layer.
 */
@Global()
@Module({
  providers: [
    { provide: PrismaClient, inject: [API_CONFIG], useFactory: (config: ApiConfig) => createPrismaClient(config.databaseUrl) },
    DatabaseShutdown,
  ],
  exports: [PrismaClient],
})
export class DatabaseModule {}
