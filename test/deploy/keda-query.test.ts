// The query components/keda scales workers on, run against the real schema (prisma/migrations)
// on the development Postgres: the ranks of the jobs that hold or wait for slots.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDatabase, dropDatabase, uniqueDatabaseUrl, withClient } from '../../packages/db/src/testing/test-database';
import { componentSlotQuery } from './support/keda';
import { REPO } from './support/workloads';

/** Statuses whose ranks hold slots (RUNNING) or wait for them (QUEUED). */
const NEED_SLOTS = ['QUEUED', 'RUNNING'];
/** Statuses whose ranks have ended. */
const ENDED = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];

const databaseUrl = uniqueDatabaseUrl('mpiaas_keda_query_test');
const query = componentSlotQuery();

async function slotsNeeded(): Promise<unknown> {
  return withClient(databaseUrl, async (c) => (await c.query<[unknown]>({ text: query, rowMode: 'array' })).rows[0]?.[0]);
}

describe('components/keda: the slot query', () => {
  beforeAll(async () => {
    await createDatabase(databaseUrl);
    const migrations = path.join(REPO, 'prisma/migrations');
    const dirs = readdirSync(migrations, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    await withClient(databaseUrl, async (c) => {
      for (const dir of dirs) await c.query(readFileSync(path.join(migrations, dir, 'migration.sql'), 'utf8'));
    });
  });
  afterAll(() => dropDatabase(databaseUrl));

  test('every job status is either counted or ended (a new status needs a decision here)', async () => {
    const statuses = await withClient(databaseUrl, async (c) => (await c.query<{ s: string }>('SELECT unnest(enum_range(NULL::job_status)) AS s')).rows);
    expect(statuses.map((r) => r.s).sort()).toEqual([...NEED_SLOTS, ...ENDED].sort());
  });

  test('is 0, not NULL, without jobs (KEDA reads it into a number; NULL would be an error)', async () => {
    expect(Number(await slotsNeeded())).toBe(0);
    expect(await slotsNeeded()).not.toBeNull();
  });

  test('sums np over queued and running jobs only', async () => {
    // One job per status, np a distinct power of two: the sum names the statuses it counted.
    const all = [...NEED_SLOTS, ...ENDED];
    await withClient(databaseUrl, async (c) => {
      for (const [i, status] of all.entries()) {
        await c.query(`INSERT INTO jobs (np, script, timeout_seconds, status, updated_at) VALUES ($1, 'pass', 60, $2, now())`, [2 ** i, status]);
      }
    });
    const expected = all.reduce((sum, status, i) => sum + (NEED_SLOTS.includes(status) ? 2 ** i : 0), 0);
    expect(Number(await slotsNeeded())).toBe(expected);
  });
});
