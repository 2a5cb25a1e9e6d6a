#!/usr/bin/env node
// Applies prisma/migrations to a database without Prisma's native engine:
//   node packages/db/dist/migrate-cli.js [--database-url URL] [--migrations-dir DIR]
// The URL defaults to $DATABASE_URL. Exit code 0: the database is up to date.
import { parseArgs } from 'node:util';
import { DEFAULT_MIGRATIONS_DIR, migrate, redact } from './migrate';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      'migrations-dir': { type: 'string', default: DEFAULT_MIGRATIONS_DIR },
      'lock-timeout-ms': { type: 'string', default: '60000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: migrate-cli [--database-url URL] [--migrations-dir DIR] [--lock-timeout-ms MS]\n' +
      'Applies pending Prisma migrations (same _prisma_migrations bookkeeping as `prisma migrate deploy`).');
    return;
  }
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('No database: pass --database-url or set DATABASE_URL');
  const lockTimeoutMs = Number(values['lock-timeout-ms']);
  if (!Number.isFinite(lockTimeoutMs) || lockTimeoutMs < 0) throw new Error('--lock-timeout-ms must be a number of milliseconds');
  console.log(`Migrating ${redact(databaseUrl)} from ${values['migrations-dir']}`);
  await migrate(databaseUrl, { migrationsDir: values['migrations-dir'], lockTimeoutMs, log: (line) => console.log(line) });
}

main().catch((err: unknown) => {
  console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
