import pg from 'pg';

/**
 * A small node-postgres pool beside the Prisma client, for the statements of a hot path (the
 * api's submissions, the worker's per-job statements): a raw query through Prisma costs about
 * a millisecond of CPU by itself, several times the same query through pg.
 */
export function createPgPool(databaseUrl: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max });
  // An idle connection that breaks is dropped by the pool; the next query reports any outage.
  pool.on('error', () => undefined);
  return pool;
}
