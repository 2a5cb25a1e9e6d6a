// docker/wait-for-migrations.mjs (the api's and worker's init container) against a real Postgres,
// with the migration Job's own command in between.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { dropDatabase, uniqueDatabaseUrl, withClient } from '../../packages/db/src/testing/test-database';
import { REPO } from './support/workloads';

const run = promisify(execFile);
const databaseUrl = uniqueDatabaseUrl('mpiaas_deploy_test');
const migrations = readdirSync(path.join(REPO, 'prisma/migrations'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

async function node(script: string, args: string[], url: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('node', [script, ...args], { cwd: REPO, env: { ...process.env, DATABASE_URL: url }, timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const waitForMigrations = (url: string, timeout = '1') =>
  node('docker/wait-for-migrations.mjs', ['--timeout', timeout, '--interval', '0.2'], url);

describe('docker/wait-for-migrations.mjs', () => {
  afterAll(() => dropDatabase(databaseUrl));

  test('waits while the database lacks migrations, passes once the migration Job ran', async () => {
    const before = await waitForMigrations(databaseUrl);
    expect(before.code).toBe(1);
    expect(before.output).toContain(`waiting for ${migrations.length} migration(s): ${migrations.join(', ')}`);

    const job = await node('packages/db/dist/migrate-cli.js', [], databaseUrl);
    expect(job.code, job.output).toBe(0);

    const after = await waitForMigrations(databaseUrl);
    expect(after.code, after.output).toBe(0);
    expect(after.output).toContain('up to date');
    expect(after.output).toContain(':***@'); // the password is redacted
  });

  test('a migration missing from the database (a newer image) keeps it waiting, named', async () => {
    const newest = migrations.at(-1) ?? '';
    await withClient(databaseUrl, (c) => c.query('UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1', [newest]));
    const result = await waitForMigrations(databaseUrl);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`waiting for 1 migration(s): ${newest}`);
  });

  test('an unreachable database is waited for, then reported', async () => {
    const result = await waitForMigrations('postgresql://nobody:secret@127.0.0.1:1/mpiaas', '0.5');
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/gave up after 0\.5s: waiting for the database: .*ECONNREFUSED/);
    expect(result.output).not.toContain('secret');
  });
});
