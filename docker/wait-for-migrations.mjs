#!/usr/bin/env node
// Waits until the database has every migration this image ships, then exits 0; exits 1 after
// --timeout seconds. The api and worker pods run it as an init container, so that they start
// only once the migration Job (or `docker compose run migrate`) has brought the schema up to
// the one their code was built against. It only reads: migrating is the Job's business.
//
//   node docker/wait-for-migrations.mjs [--timeout SECONDS] [--interval SECONDS]
//
// Reads DATABASE_URL. A database that has migrations this image does not know (a newer
// release's) is fine: migrations are additive between neighbouring releases.
import { parseArgs } from 'node:util';
import migrations from '@mpiaas/db/dist/migrate.js';
import pg from 'pg';

const { readMigrations, redact, DEFAULT_MIGRATIONS_DIR } = migrations;

/** SQLSTATE 42P01 (no `_prisma_migrations` yet) and 3D000 (no database yet): nothing applied. */
const NOTHING_APPLIED = new Set(['42P01', '3D000']);

async function appliedMigrations(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'mpiaas-wait-for-migrations' });
  try {
    await client.connect();
    const { rows } = await client.query(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    return new Set(rows.map((row) => row.migration_name));
  } catch (error) {
    if (NOTHING_APPLIED.has(error?.code)) return new Set();
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

async function main() {
  const { values } = parseArgs({
    options: { timeout: { type: 'string', default: '600' }, interval: { type: 'string', default: '2' } },
  });
  const timeoutMs = Number(values.timeout) * 1000;
  const intervalMs = Number(values.interval) * 1000;
  if (!(timeoutMs >= 0) || !(intervalMs > 0)) throw new Error('--timeout and --interval are numbers of seconds');
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set');

  const expected = readMigrations(DEFAULT_MIGRATIONS_DIR).map((m) => m.name);
  const deadline = Date.now() + timeoutMs;
  let lastReport = '';
  for (;;) {
    let report;
    try {
      const applied = await appliedMigrations(databaseUrl);
      const missing = expected.filter((name) => !applied.has(name));
      if (missing.length === 0) {
        console.log(`schema of ${redact(databaseUrl)} is up to date (${expected.length} migrations)`);
        return 0;
      }
      report = `waiting for ${missing.length} migration(s): ${missing.join(', ')}`;
    } catch (error) {
      report = `waiting for the database: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (report !== lastReport) console.log(report);
    lastReport = report;
    if (Date.now() + intervalMs > deadline) {
      console.error(`gave up after ${values.timeout}s: ${report}`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    console.error(`wait-for-migrations: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
