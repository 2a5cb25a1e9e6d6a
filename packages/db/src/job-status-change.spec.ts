import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeJobStatus, createPrismaClient, JobStatus, migrate, type PrismaClient } from './index';
import { dropDatabase, uniqueDatabaseUrl } from './testing/test-database';

const url = uniqueDatabaseUrl('mpiaas_db_status_test');
let db: PrismaClient;

beforeAll(async () => {
  await migrate(url);
  db = createPrismaClient(url, { pool: { max: 4 } });
});

afterAll(async () => {
  await db?.$disconnect();
  await dropDatabase(url);
});

async function queuedJob(): Promise<string> {
  const job = await db.job.create({
    data: { np: 1, script: 'pass', timeoutSeconds: 60, transitions: { create: [{ status: JobStatus.QUEUED }] } },
  });
  return job.id;
}

const transitionsOf = async (jobId: string) =>
  (await db.jobTransition.findMany({ where: { jobId }, orderBy: { id: 'asc' } })).map((t) => [t.status, t.reason]);

describe('changeJobStatus', () => {
  it('moves the job and writes its transition row, with finishedAt on a final status', async () => {
    const id = await queuedJob();
    expect(await changeJobStatus(db, { jobId: id, from: [JobStatus.QUEUED], to: JobStatus.RUNNING, data: { attempts: { increment: 1 } } })).toBe(true);
    expect(await db.job.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: JobStatus.RUNNING, attempts: 1, finishedAt: null });

    expect(await changeJobStatus(db, { jobId: id, from: [JobStatus.RUNNING], to: JobStatus.FAILED, reason: 'rank 1 exited with code 1' })).toBe(true);
    const job = await db.job.findUniqueOrThrow({ where: { id } });
    expect(job).toMatchObject({ status: JobStatus.FAILED, reason: 'rank 1 exited with code 1', finishedAt: expect.any(Date) });
    expect(await transitionsOf(id)).toEqual([
      ['QUEUED', null],
      ['RUNNING', null],
      ['FAILED', 'rank 1 exited with code 1'],
    ]);
  });

  it('changes nothing and writes no transition when the job is not in `from` or misses `where`', async () => {
    const id = await queuedJob();
    expect(await changeJobStatus(db, { jobId: id, from: [JobStatus.RUNNING], to: JobStatus.SUCCEEDED })).toBe(false);
    expect(await changeJobStatus(db, { jobId: id, from: [JobStatus.QUEUED], to: JobStatus.RUNNING, where: { attempts: 3 } })).toBe(false);
    expect(await changeJobStatus(db, { jobId: '00000000-0000-4000-8000-000000000000', from: [JobStatus.QUEUED], to: JobStatus.FAILED })).toBe(false);
    expect((await db.job.findUniqueOrThrow({ where: { id } })).status).toBe(JobStatus.QUEUED);
    expect(await transitionsOf(id)).toEqual([['QUEUED', null]]);
  });

  it('lets exactly one of many concurrent writers move a job', async () => {
    const id = await queuedJob();
    const results = await Promise.all(
      [JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.FAILED].map((to) =>
        changeJobStatus(db, { jobId: id, from: [JobStatus.QUEUED, JobStatus.RUNNING], to, reason: to }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await transitionsOf(id)).toHaveLength(2);
  });

  it('takes part in a caller’s transaction, and rolls back with it', async () => {
    const id = await queuedJob();
    await expect(
      db.$transaction(async (tx) => {
        await changeJobStatus(tx, { jobId: id, from: [JobStatus.QUEUED], to: JobStatus.RUNNING });
        throw new Error('the rest of the claim failed');
      }),
    ).rejects.toThrow('the rest of the claim failed');
    expect((await db.job.findUniqueOrThrow({ where: { id } })).status).toBe(JobStatus.QUEUED);
    expect(await transitionsOf(id)).toEqual([['QUEUED', null]]);
  });

  it('keeps a job reason apart from the transition’s when asked (a retry names its attempt)', async () => {
    const id = await queuedJob();
    await changeJobStatus(db, { jobId: id, from: [JobStatus.QUEUED], to: JobStatus.RUNNING, reason: null, transitionReason: 'attempt 2' });
    expect((await db.job.findUniqueOrThrow({ where: { id } })).reason).toBeNull();
    expect(await transitionsOf(id)).toEqual([
      ['QUEUED', null],
      ['RUNNING', 'attempt 2'],
    ]);
  });
});
