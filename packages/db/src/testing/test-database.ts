// Throwaway databases on the development Postgres, for the tests of this package.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server the tests use: $MPIAAS_TEST_PG_URL, else the local one (trust auth). */
export const TEST_SERVER_URL = process.env.MPIAAS_TEST_PG_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

/** A URL naming a database that does not exist yet, unique to this call. */
export function uniqueDatabaseUrl(prefix: string): string {
  const url = new URL(TEST_SERVER_URL);
  url.pathname = `/${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  return url.toString();
}

export function databaseName(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
}

/** Runs `fn` with a client connected to `databaseUrl`. */
export async function withClient<T>(databaseUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createDatabase(databaseUrl: string): Promise<void> {
  await withClient(TEST_SERVER_URL, (c) => c.query(`CREATE DATABASE "${databaseName(databaseUrl)}"`));
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  await withClient(TEST_SERVER_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${databaseName(databaseUrl)}" WITH (FORCE)`));
}
