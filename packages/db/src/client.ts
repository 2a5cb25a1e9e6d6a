import { PrismaPg } from '@prisma/adapter-pg';
import type { PoolConfig } from 'pg';
import { PrismaClient } from './generated/prisma/client.js';

export interface CreatePrismaClientOptions {
  /** node-postgres pool settings (max connections, timeouts, ...); the URL comes first. */
  pool?: Omit<PoolConfig, 'connectionString'>;
}

/**
 * A Prisma client on Postgres through the node-postgres driver adapter (Prisma 7 has no built-in
 * connection). Call `$disconnect()` to close its pool.
 */
export function createPrismaClient(databaseUrl: string, options: CreatePrismaClientOptions = {}): PrismaClient {
  const adapter = new PrismaPg({ ...options.pool, connectionString: databaseUrl });
  return new PrismaClient({ adapter });
}
