// Applies prisma/migrations the way `prisma migrate deploy` does, without Prisma's native schema
// engine (which the CLI downloads at start and which machines without internet access cannot
// fetch). The bookkeeping is Prisma's own: the same `_prisma_migrations` table and columns, the
// same checksums, the same advisory lock. A database migrated here is one that `prisma migrate
// deploy` (in a container, where the engine exists) sees as up to date, and the other way round.
//
// Differences from the engine, on purpose:
//  - Each migration runs in a transaction together with its `_prisma_migrations` row, so a failing
//    migration leaves nothing behind and can be fixed and rerun. (A script with its own
//    BEGIN/COMMIT, as Prisma writes for some enum changes, runs outside one, as the engine runs
//    every script; if it fails it is recorded as failed, as the engine records it.)
//  - A migration whose file changed after it was applied is refused (the engine only warns).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, type ClientConfig } from 'pg';

/** The key Prisma's schema engine takes `pg_advisory_lock` on while it migrates Postgres. */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

/** prisma/migrations, from packages/db/src (tests) and packages/db/dist (built) alike. */
export const DEFAULT_MIGRATIONS_DIR = path.resolve(__dirname, '../../../prisma/migrations');

/** The DDL of Prisma's schema engine (sql-schema-connector, Postgres flavour). */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

export interface MigrateOptions {
  /** Folder in Prisma's layout: `<name>/migration.sql` and `migration_lock.toml`. */
  migrationsDir?: string;
  /** How long to wait for another migrator (or `prisma migrate`) to finish. Default 60 s. */
  lockTimeoutMs?: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that were already recorded as applied. */
  alreadyApplied: string[];
  /** Whether this call created the database. */
  createdDatabase: boolean;
}

export interface MigrationFile {
  name: string;
  script: string;
  checksum: string;
}

/** A migration's checksum as Prisma records it: sha256 of the file's content, lowercase hex. */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

/**
 * Whether a script matches a recorded checksum, as the engine decides it: line endings may differ
 * (git may have converted them) and checksums recorded by old engines were not zero-padded.
 */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((v) => {
    const digest = createHash('sha256').update(v, 'utf8').digest();
    const rendered =
      checksum.length !== 0 && checksum.length !== 64
        ? Array.from(digest, (b) => b.toString(16)).join('')
        : digest.toString('hex');
    return rendered === checksum;
  });
}

/** The migrations of a folder in Prisma's layout, in the order they apply (by name). */
export function readMigrations(migrationsDir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  if (!existsSync(migrationsDir)) throw new Error(`No migrations folder at ${migrationsDir}`);
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  if (existsSync(lockPath)) {
    const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(readFileSync(lockPath, 'utf8'))?.[1];
    if (provider !== undefined && provider !== 'postgresql') {
      throw new Error(`${lockPath} is for provider "${provider}"; this migrator applies PostgreSQL migrations only`);
    }
  }
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      if (!existsSync(file)) throw new Error(`Migration ${name} has no migration.sql (${file})`);
      const script = readFileSync(file, 'utf8');
      return { name, script, checksum: migrationChecksum(script) };
    });
}

/** A row of `_prisma_migrations`, as Prisma writes it. */
export interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Brings the database at `databaseUrl` up to the migrations folder: creates the database if it
 * does not exist, then applies every migration not yet recorded in `_prisma_migrations`.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const migrations = readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  let createdDatabase = false;
  let client = newClient(databaseUrl);
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_CATALOG_NAME) throw err;
    createdDatabase = await createDatabase(databaseUrl, log);
    client = newClient(databaseUrl);
    await client.connect();
  }
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 60_000);
    try {
      const rows = await readHistory(client, log);
      checkHistory(rows, migrations);
      const done = new Set(rows.filter((r) => r.rolled_back_at === null).map((r) => r.migration_name));
      const applied: string[] = [];
      for (const migration of migrations) {
        if (done.has(migration.name)) continue;
        log(`Applying migration ${migration.name}`);
        await applyMigration(client, migration);
        applied.push(migration.name);
      }
      log(applied.length ? `Applied ${applied.length} migration(s).` : 'No pending migrations.');
      return { applied, alreadyApplied: migrations.filter((m) => done.has(m.name)).map((m) => m.name), createdDatabase };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end();
  }
}

/** SQLSTATE 3D000: the database named in the connection does not exist. */
const INVALID_CATALOG_NAME = '3D000';

function newClient(connectionString: string): Client {
  return new Client({ connectionString, application_name: 'mpiaas-migrate' } satisfies ClientConfig);
}

/** Creates the database named in the URL, from the server's `postgres` (else `template1`) db. */
async function createDatabase(databaseUrl: string, log: (line: string) => void): Promise<boolean> {
  const database = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!database) throw new MigrationError(`The database URL names no database: ${redact(databaseUrl)}`);
  let client: Client | undefined;
  for (const maintenance of ['postgres', 'template1']) {
    const url = new URL(databaseUrl);
    url.pathname = `/${maintenance}`;
    const candidate = newClient(url.toString());
    try {
      await candidate.connect();
      client = candidate;
      break;
    } catch (err) {
      await candidate.end().catch(() => {});
      if ((err as { code?: string }).code !== INVALID_CATALOG_NAME || maintenance === 'template1') throw err;
    }
  }
  if (!client) throw new MigrationError(`Cannot connect to ${redact(databaseUrl)} to create database ${database}`);
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
    log(`Created database ${database}`);
    return true;
  } catch (err) {
    // Another migrator created it meanwhile: duplicate_database, or the catalog's unique index.
    const code = (err as { code?: string }).code;
    if (code === '42P04' || code === '23505') return false;
    throw err;
  } finally {
    await client.end();
  }
}

async function acquireLock(client: Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      PRISMA_ADVISORY_LOCK_KEY,
    ]);
    if (res.rows[0]?.locked) return;
    if (Date.now() >= deadline) {
      throw new MigrationError(
        `Timed out after ${timeoutMs} ms waiting for the migration lock (pg_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY})): another migration is running`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function readHistory(client: Client, log: (line: string) => void): Promise<MigrationRow[]> {
  const exists = await client.query<{ present: boolean }>(
    "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS present",
  );
  if (!exists.rows[0]?.present) {
    // As the engine: a database with tables but no migration history is not ours to change.
    const tables = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name LIMIT 5`,
    );
    if (tables.rowCount) {
      throw new MigrationError(
        `The database schema is not empty (tables: ${tables.rows.map((r) => r.table_name).join(', ')}...) and has no _prisma_migrations table; refusing to migrate it`,
      );
    }
    await client.query(CREATE_MIGRATIONS_TABLE);
    log('Created _prisma_migrations');
    return [];
  }
  const res = await client.query<MigrationRow>(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at
       FROM _prisma_migrations ORDER BY started_at ASC`,
  );
  return res.rows;
}

function checkHistory(rows: MigrationRow[], migrations: MigrationFile[]): void {
  const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed.length) {
    const details = failed
      .map((r) => `The \`${r.migration_name}\` migration started at ${r.started_at.toISOString()} failed${r.logs?.trim() ? ` with the following logs:\n${r.logs.trim()}` : ''}`)
      .join('\n');
    throw new MigrationError(
      `Found failed migrations in the target database; new migrations will not be applied until they are resolved (prisma migrate resolve).\n${details}`,
    );
  }
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const edited = rows
    .filter((r) => r.rolled_back_at === null && r.finished_at !== null)
    .filter((r) => {
      const file = byName.get(r.migration_name);
      return file !== undefined && !scriptMatchesChecksum(file.script, r.checksum);
    })
    .map((r) => r.migration_name);
  if (edited.length) {
    throw new MigrationError(
      `Migration(s) changed after they were applied: ${edited.join(', ')}. ` +
        `Their migration.sql no longer matches the checksum in _prisma_migrations; restore the applied file and put the change in a new migration.`,
    );
  }
}

/**
 * Whether a script controls transactions itself (Prisma writes `BEGIN; ... COMMIT;` around some
 * enum changes), so it cannot run inside ours. Comments, string literals and dollar-quoted
 * bodies (whose plpgsql BEGIN ... END is no transaction) are skipped.
 */
export function managesItsOwnTransaction(script: string): boolean {
  const code = script
    .replace(/\$([A-Za-z_][A-Za-z_0-9]*)?\$[\s\S]*?\$\1\$/g, ' ')
    .replace(/'(?:[^']|'')*'/g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ');
  return /(^|;)\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT)(\s+(WORK|TRANSACTION))?\s*;/i.test(code);
}

async function applyMigration(client: Client, migration: MigrationFile): Promise<void> {
  const id = randomUUID();
  const record = `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ($1, $2, $3)`;
  const finish = `UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = applied_steps_count + 1 WHERE id = $1`;

  if (managesItsOwnTransaction(migration.script)) {
    await client.query(record, [id, migration.checksum, migration.name]);
    try {
      await client.query(migration.script);
    } catch (err) {
      await client.query(`UPDATE _prisma_migrations SET logs = $2 WHERE id = $1`, [id, describe(err)]);
      throw failure(migration, err);
    }
    await client.query(finish, [id]);
    return;
  }

  await client.query('BEGIN');
  try {
    await client.query(record, [id, migration.checksum, migration.name]);
    await client.query(migration.script);
    await client.query(finish, [id]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw failure(migration, err);
  }
}

function failure(migration: MigrationFile, err: unknown): MigrationError {
  return new MigrationError(`Migration ${migration.name} failed: ${describe(err)}`, { cause: err });
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const pg = err as Error & { code?: string; position?: string; detail?: string };
  return [pg.message, pg.code && `(SQLSTATE ${pg.code})`, pg.position && `at position ${pg.position}`, pg.detail]
    .filter(Boolean)
    .join(' ');
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The URL without its password, for messages. */
export function redact(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparsable database URL>';
  }
}
