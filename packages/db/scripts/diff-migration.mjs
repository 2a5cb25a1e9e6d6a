#!/usr/bin/env node
// Writes the next migration for prisma/schema.prisma, offline: Prisma's schema engine (WebAssembly)
// applies prisma/migrations to a throwaway shadow database and diffs it against the schema, as
// `prisma migrate dev --create-only --name <name>` does with the native engine.
//
//   npm run migration:diff -w @mpiaas/db -- <name>     write prisma/migrations/<UTC timestamp>_<name>/
//   npm run migration:diff -w @mpiaas/db -- --print    print the SQL, write nothing
//   npm run migration:diff -w @mpiaas/db -- --check    exit 1 if the schema has changes no migration covers
//
// Needs a Postgres server (DATABASE_URL, default postgresql://postgres:postgres@127.0.0.1:5432/postgres);
// only its shadow databases are touched, never the named database's contents.
// Not reproduced: the `/* Warnings: ... */` header that `migrate dev` puts above destructive steps.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { diffMigrationsToSchema, LOCKFILE_NAME, POSTGRES_LOCKFILE } from './schema-engine.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    print: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    schema: { type: 'string', default: path.join(repoRoot, 'prisma/schema.prisma') },
    'migrations-dir': { type: 'string', default: path.join(repoRoot, 'prisma/migrations') },
    url: { type: 'string', default: process.env.DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres' },
    verbose: { type: 'boolean', default: false },
  },
});

/** The directory name Prisma gives a migration: UTC %Y%m%d%H%M%S, '_', the slugified name. */
function migrationDirName(name, now = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  const ts = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 200);
  if (!slug) throw new Error(`migration name ${JSON.stringify(name)} has no letters or digits`);
  return `${ts}_${slug}`;
}

const name = positionals[0];
if (!values.print && !values.check && !name) {
  console.error('usage: diff-migration.mjs <name> | --print | --check  [--schema FILE] [--migrations-dir DIR] [--url URL]');
  process.exit(2);
}

const migrationsDir = path.resolve(values['migrations-dir']);
const schemaPath = path.resolve(values.schema);
const sql = await diffMigrationsToSchema({
  url: values.url,
  schemaPath,
  migrationsDir,
  log: values.verbose ? (m) => console.error('[schema-engine]', m) : undefined,
});

if (values.check) {
  if (sql) {
    console.error(`${path.relative(process.cwd(), schemaPath)} has changes that no migration in ${path.relative(process.cwd(), migrationsDir)} covers:\n\n${sql}`);
    console.error('Create one with: npm run migration:diff -w @mpiaas/db -- <name>');
    process.exit(1);
  }
  console.log('Migrations are in sync with the schema.');
} else if (values.print) {
  process.stdout.write(sql || '-- No difference between the migrations and the schema.\n');
} else if (!sql) {
  console.log('No schema changes: no migration written.');
} else {
  const dir = path.join(migrationsDir, migrationDirName(name));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'migration.sql'), sql, 'utf8');
  const lockPath = path.join(migrationsDir, LOCKFILE_NAME);
  if (!fs.existsSync(lockPath)) fs.writeFileSync(lockPath, POSTGRES_LOCKFILE, 'utf8');
  console.log(`Wrote ${path.relative(process.cwd(), path.join(dir, 'migration.sql'))}`);
}
