import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_MIGRATIONS_DIR,
  managesItsOwnTransaction,
  migrate,
  readMigrations,
  scriptMatchesChecksum,
  type MigrationRow,
} from './migrate';
import { createDatabase, dropDatabase, uniqueDatabaseUrl, withClient } from './testing/test-database';

interface HistoryRow extends MigrationRow {
  applied_steps_count: number;
}

const history = (url: string) =>
  withClient(url, async (c) => (await c.query<HistoryRow>('SELECT * FROM _prisma_migrations ORDER BY started_at')).rows);

const tables = (url: string) =>
  withClient(url, async (c) =>
    (
      await c.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
      )
    ).rows.map((r) => r.table_name),
  );

const databases: string[] = [];
const tempDirs: string[] = [];

function newDatabaseUrl(): string {
  const url = uniqueDatabaseUrl('mpiaas_db_test');
  databases.push(url);
  return url;
}

/** A copy of prisma/migrations to change freely. */
function copyOfMigrations(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mpiaas-migrations-'));
  tempDirs.push(dir);
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

function addMigration(dir: string, name: string, sql: string): void {
  mkdirSync(path.join(dir, name));
  writeFileSync(path.join(dir, name, 'migration.sql'), sql);
}

afterAll(async () => {
  for (const url of databases) await dropDatabase(url);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('the migrations folder', () => {
  it('is in Prisma layout, provider postgresql, with an init migration', () => {
    const lock = readFileSync(path.join(DEFAULT_MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8');
    expect(lock).toContain('provider = "postgresql"');
    const names = readMigrations().map((m) => m.name);
    expect(names[0]).toMatch(/^\d{14}_init$/);
  });
});

describe('migrate', () => {
  const url = newDatabaseUrl();
  const names = readMigrations().map((m) => m.name);

  it('creates a missing database and applies every migration', async () => {
    const result = await migrate(url);
    expect(result).toEqual({ applied: names, alreadyApplied: [], createdDatabase: true });
    expect(await tables(url)).toEqual(
      ['_prisma_migrations', 'api_keys', 'job_files', 'job_ranks', 'job_transitions', 'jobs', 'log_chunks', 'tenants', 'webhook_deliveries'].sort(),
    );
  });

  it('is idempotent', async () => {
    const result = await migrate(url);
    expect(result).toEqual({ applied: [], alreadyApplied: names, createdDatabase: false });
    expect(await history(url)).toHaveLength(names.length);
  });

  it('records each migration in _prisma_migrations as Prisma does', async () => {
    const rows = await history(url);
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    for (const row of rows) {
      const file = readFileSync(path.join(DEFAULT_MIGRATIONS_DIR, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(file).digest('hex'));
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 });
    }
    // The same columns and types as the table Prisma's schema engine creates.
    const columns = await withClient(url, async (c) =>
      (
        await c.query<{ column_name: string; data_type: string; is_nullable: string }>(
          `SELECT column_name, data_type, is_nullable FROM information_schema.columns
            WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
        )
      ).rows.map((r) => `${r.column_name} ${r.data_type} ${r.is_nullable === 'YES' ? 'null' : 'not null'}`),
    );
    expect(columns).toEqual([
      'id character varying not null',
      'checksum character varying not null',
      'finished_at timestamp with time zone null',
      'migration_name character varying not null',
      'logs text null',
      'rolled_back_at timestamp with time zone null',
      'started_at timestamp with time zone not null',
      'applied_steps_count integer not null',
    ]);
  });

  it("leaves a database that Prisma's own schema engine sees as up to date", async () => {
    const engine = await import('../scripts/schema-engine.mjs');
    const diagnosis = await engine.diagnoseMigrationHistory({ url, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    expect(diagnosis).toEqual({
      editedMigrationNames: [],
      failedMigrationNames: [],
      hasMigrationsTable: true,
      history: null,
    });
    // `prisma migrate deploy` would apply nothing.
    expect(await engine.applyMigrations({ url, migrationsDir: DEFAULT_MIGRATIONS_DIR })).toEqual({
      appliedMigrationNames: [],
    });
  });

  it("sees a database migrated by Prisma's schema engine as up to date", async () => {
    const engine = await import('../scripts/schema-engine.mjs');
    const other = newDatabaseUrl();
    await createDatabase(other);
    expect(await engine.applyMigrations({ url: other, migrationsDir: DEFAULT_MIGRATIONS_DIR })).toEqual({
      appliedMigrationNames: names,
    });
    expect(await migrate(other)).toEqual({ applied: [], alreadyApplied: names, createdDatabase: false });
  });

  it('applies a new migration after the applied ones', async () => {
    const dir = copyOfMigrations();
    addMigration(dir, '29990101000000_add_job_priority', 'ALTER TABLE "jobs" ADD COLUMN "priority" INTEGER NOT NULL DEFAULT 0;\n');
    const result = await migrate(url, { migrationsDir: dir });
    expect(result.applied).toEqual(['29990101000000_add_job_priority']);
    const rows = await history(url);
    expect(rows.at(-1)).toMatchObject({ migration_name: '29990101000000_add_job_priority', applied_steps_count: 1 });
  });

  it('refuses a migration whose file changed after it was applied', async () => {
    const dir = copyOfMigrations();
    const first = names[0]!;
    appendFileSync(path.join(dir, first, 'migration.sql'), '\n-- edited\n');
    const before = await history(url);
    await expect(migrate(url, { migrationsDir: dir })).rejects.toThrow(
      new RegExp(`changed after they were applied: ${first}`),
    );
    expect(await history(url)).toEqual(before);
  });

  it('accepts a file whose line endings git converted', async () => {
    const dir = copyOfMigrations();
    const file = path.join(dir, names[0]!, 'migration.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    await expect(migrate(url, { migrationsDir: dir })).resolves.toMatchObject({ applied: [] });
  });

  it('rolls a failing migration back and records nothing, so it can be fixed and rerun', async () => {
    const dir = copyOfMigrations();
    addMigration(
      dir,
      '29990102000000_broken',
      'CREATE TABLE "half_done" ("id" INTEGER);\nALTER TABLE "no_such_table" ADD COLUMN "x" INTEGER;\n',
    );
    await expect(migrate(url, { migrationsDir: dir })).rejects.toThrow(
      /Migration 29990102000000_broken failed: relation "no_such_table" does not exist/,
    );
    expect((await history(url)).map((r) => r.migration_name)).not.toContain('29990102000000_broken');
    expect(await tables(url)).not.toContain('half_done');
  });

  it('refuses to run while Prisma records a failed migration', async () => {
    const dir = copyOfMigrations();
    // Scripts with their own BEGIN/COMMIT run outside a wrapping transaction, as the engine runs
    // them, and a failure is recorded as the engine records it.
    addMigration(dir, '29990103000000_own_tx', 'BEGIN;\nCREATE TABLE "partial" ("id" INTEGER);\nCOMMIT;\nSELECT 1/0;\n');
    await expect(migrate(url, { migrationsDir: dir })).rejects.toThrow(/division by zero/);
    const failed = (await history(url)).find((r) => r.migration_name === '29990103000000_own_tx');
    expect(failed).toMatchObject({ finished_at: null, rolled_back_at: null });
    expect(failed?.logs).toMatch(/division by zero/);
    await expect(migrate(url, { migrationsDir: dir })).rejects.toThrow(
      /Found failed migrations[\s\S]*`29990103000000_own_tx` migration/,
    );
    // What `prisma migrate resolve --rolled-back` does lets it run again.
    await withClient(url, (c) =>
      c.query(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '29990103000000_own_tx'`),
    );
    writeFileSync(path.join(dir, '29990103000000_own_tx', 'migration.sql'), 'BEGIN;\nCREATE TABLE IF NOT EXISTS "partial" ("id" INTEGER);\nCOMMIT;\n');
    await expect(migrate(url, { migrationsDir: dir })).resolves.toMatchObject({ applied: ['29990103000000_own_tx'] });
  });

  it('refuses a database that has tables but no migration history', async () => {
    const other = newDatabaseUrl();
    await createDatabase(other);
    await withClient(other, (c) => c.query('CREATE TABLE "someone_elses" ("id" INTEGER)'));
    await expect(migrate(other)).rejects.toThrow(/not empty \(tables: someone_elses/);
  });

  it('lets concurrent migrators race safely (advisory lock)', async () => {
    const other = newDatabaseUrl();
    const results = await Promise.all([migrate(other), migrate(other), migrate(other)]);
    expect(results.flatMap((r) => r.applied)).toEqual(names);
    expect((await history(other)).map((r) => r.migration_name)).toEqual(names);
  });
});

describe('the offline schema engine (scripts/diff-migration.mjs)', () => {
  const schemaPath = path.resolve(DEFAULT_MIGRATIONS_DIR, '../schema.prisma');

  it('finds prisma/migrations in sync with prisma/schema.prisma', async () => {
    const engine = await import('../scripts/schema-engine.mjs');
    const url = newDatabaseUrl();
    await createDatabase(url);
    const sql = await engine.diffMigrationsToSchema({ url, schemaPath, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    expect(sql, 'schema.prisma changed without a migration: npm run migration:diff -w @mpiaas/db -- <name>').toBe('');
  });

  it('writes the next migration from a changed schema, in a shadow database only', async () => {
    const engine = await import('../scripts/schema-engine.mjs');
    const url = newDatabaseUrl();
    await createDatabase(url);
    const dir = mkdtempSync(path.join(tmpdir(), 'mpiaas-schema-'));
    tempDirs.push(dir);
    const changed = path.join(dir, 'schema.prisma');
    writeFileSync(
      changed,
      readFileSync(schemaPath, 'utf8').replace(/^(\s*attempts\s+Int.*)$/m, '$1\n  priority Int @default(0)'),
    );
    const sql = await engine.diffMigrationsToSchema({ url, schemaPath: changed, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    expect(sql).toBe('-- AlterTable\nALTER TABLE "jobs" ADD COLUMN     "priority" INTEGER NOT NULL DEFAULT 0;\n');
    // The migrations ran in a throwaway shadow database, which is gone again.
    expect(await tables(url)).toEqual([]);
    const shadows = await withClient(url, async (c) =>
      (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'`)).rowCount,
    );
    expect(shadows).toBe(0);
  });
});

describe('scriptMatchesChecksum', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  it('ignores CRLF/LF differences only', () => {
    expect(scriptMatchesChecksum('a;\r\nb;\r\n', sha('a;\nb;\n'))).toBe(true);
    expect(scriptMatchesChecksum('a;\nb;\n', sha('a;\r\nb;\r\n'))).toBe(true);
    expect(scriptMatchesChecksum('a;\nb;', sha('a;\nb;\n'))).toBe(false);
  });
});

describe('managesItsOwnTransaction', () => {
  it('spots the BEGIN/COMMIT Prisma writes around enum changes', () => {
    expect(managesItsOwnTransaction('-- AlterEnum\nBEGIN;\nCREATE TYPE "x_new" AS ENUM (\'A\');\nCOMMIT;\n')).toBe(true);
    expect(managesItsOwnTransaction('begin transaction;\nselect 1;\ncommit work;')).toBe(true);
  });
  it('ignores plpgsql bodies, comments and strings', () => {
    const fn = 'CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n';
    expect(managesItsOwnTransaction(fn)).toBe(false);
    expect(managesItsOwnTransaction("-- BEGIN;\nSELECT 'COMMIT;';\n/* ROLLBACK; */\n")).toBe(false);
  });
});
