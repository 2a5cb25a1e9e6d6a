import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, JobStatus, LogStream, migrate, Prisma, type PrismaClient } from './index';
import { dropDatabase, uniqueDatabaseUrl } from './testing/test-database';

const url = uniqueDatabaseUrl('mpiaas_db_client_test');
let db: PrismaClient;

beforeAll(async () => {
  await migrate(url);
  db = createPrismaClient(url, { pool: { max: 4 } });
});

afterAll(async () => {
  await db?.$disconnect();
  await dropDatabase(url);
});

function newJob(overrides: Partial<Prisma.JobCreateInput> = {}): Prisma.JobCreateInput {
  return { np: 2, script: 'from mpi4py import MPI\nprint(MPI.COMM_WORLD.Get_rank())\n', timeoutSeconds: 60, ...overrides };
}

describe('the Prisma client (adapter-pg)', () => {
  it('round-trips a job with its ranks, log chunks and transitions', async () => {
    const created = await db.job.create({
      data: newJob({
        name: 'hello',
        labels: { team: 'hpc' },
        args: ['--n', '3'],
        env: { OMP_NUM_THREADS: '1' },
        idempotencyKey: 'key-round-trip',
        requestHash: 'a'.repeat(64),
        ranks: { create: [{ rank: 0 }, { rank: 1 }] },
        transitions: { create: [{ status: JobStatus.QUEUED }] },
      }),
    });
    expect(created).toMatchObject({
      status: JobStatus.QUEUED,
      attempts: 0,
      cancelRequested: false,
      exitCode: null,
      labels: { team: 'hpc' },
      args: ['--n', '3'],
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/); // gen_random_uuid() in the database

    await db.logChunk.createMany({
      data: [
        { jobId: created.id, rank: 0, stream: LogStream.STDOUT, seq: 0, text: '0\n' },
        { jobId: created.id, rank: 1, stream: LogStream.STDOUT, seq: 0, text: '1\n' },
        { jobId: created.id, rank: 1, stream: LogStream.STDERR, seq: 0, text: 'warning\n' },
        { jobId: created.id, rank: 0, stream: LogStream.STDOUT, seq: 1, text: 'done\n' },
      ],
    });
    const finishedAt = new Date();
    await db.$transaction([
      db.jobRank.update({
        where: { jobId_rank: { jobId: created.id, rank: 1 } },
        data: { exitCode: 0, finishedAt, stdoutBytes: 2n, stderrBytes: 8n },
      }),
      db.job.update({
        where: { id: created.id },
        data: { status: JobStatus.SUCCEEDED, exitCode: 0, finishedAt, transitions: { create: { status: JobStatus.SUCCEEDED } } },
      }),
    ]);

    const read = await db.job.findUniqueOrThrow({
      where: { tenantId_idempotencyKey: { tenantId: created.tenantId, idempotencyKey: 'key-round-trip' } },
      include: {
        ranks: { orderBy: { rank: 'asc' } },
        logChunks: { orderBy: { id: 'asc' } },
        transitions: { orderBy: { id: 'asc' } },
      },
    });
    expect(read.status).toBe(JobStatus.SUCCEEDED);
    expect(read.finishedAt?.getTime()).toBe(finishedAt.getTime());
    expect(read.updatedAt.getTime()).toBeGreaterThanOrEqual(read.createdAt.getTime());
    expect(read.ranks.map((r) => [r.rank, r.exitCode, r.stdoutBytes, r.stderrBytes])).toEqual([
      [0, null, 0n, 0n],
      [1, 0, 2n, 8n],
    ]);
    expect(read.logChunks.map((c) => `${c.rank}/${c.stream}/${c.seq}:${c.text}`)).toEqual([
      '0/STDOUT/0:0\n',
      '1/STDOUT/0:1\n',
      '1/STDERR/0:warning\n',
      '0/STDOUT/1:done\n',
    ]);
    const ids = read.logChunks.map((c) => c.id);
    expect(typeof ids[0]).toBe('bigint');
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
    expect(read.transitions.map((t) => t.status)).toEqual([JobStatus.QUEUED, JobStatus.SUCCEEDED]);

    // Log chunks after a cursor (SSE Last-Event-ID), in global order.
    const after = await db.logChunk.findMany({
      where: { jobId: read.id, id: { gt: ids[1]! } },
      orderBy: { id: 'asc' },
    });
    expect(after.map((c) => c.text)).toEqual(['warning\n', 'done\n']);
  });

  it('enforces the unique keys: one chunk per (job, rank, stream, seq), one job per idempotency key of a tenant', async () => {
    const job = await db.job.create({ data: newJob({ idempotencyKey: 'key-unique' }) });
    const chunk = { jobId: job.id, rank: 0, stream: LogStream.STDOUT, seq: 0, text: 'x' };
    await db.logChunk.create({ data: chunk });
    await expect(db.logChunk.create({ data: chunk })).rejects.toMatchObject({ code: 'P2002' });
    await expect(db.job.create({ data: newJob({ idempotencyKey: 'key-unique' }) })).rejects.toBeInstanceOf(
      Prisma.PrismaClientKnownRequestError,
    );
  });

  it('deleting a job deletes its ranks, log chunks and transitions (cascade)', async () => {
    const job = await db.job.create({
      data: newJob({
        ranks: { create: [{ rank: 0 }, { rank: 1 }] },
        logChunks: { create: [{ rank: 0, stream: LogStream.STDERR, seq: 0, text: 'boom' }] },
        transitions: { create: [{ status: JobStatus.QUEUED }] },
      }),
    });
    await db.job.delete({ where: { id: job.id } });
    const where = { jobId: job.id };
    expect(
      await Promise.all([db.jobRank.count({ where }), db.logChunk.count({ where }), db.jobTransition.count({ where })]),
    ).toEqual([0, 0, 0]);
  });

  it('lists jobs newest first with a (createdAt, id) cursor', async () => {
    const base = Date.parse('2030-01-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      await db.job.create({ data: newJob({ name: `page-${i}`, labels: { page: 'yes' }, createdAt: new Date(base + i * 1000) }) });
    }
    const where = { labels: { equals: { page: 'yes' } } };
    const orderBy = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
    const first = await db.job.findMany({ where, orderBy, take: 2 });
    const next = await db.job.findMany({ where, orderBy, take: 2, skip: 1, cursor: { id: first.at(-1)!.id } });
    expect([...first, ...next].map((j) => j.name)).toEqual(['page-4', 'page-3', 'page-2', 'page-1']);
  });

  it('stores API keys by hash', async () => {
    const key = await db.apiKey.create({ data: { name: 'ci', keyHash: 'f'.repeat(64) } });
    expect(key.revokedAt).toBeNull();
    await expect(db.apiKey.create({ data: { name: 'dup', keyHash: 'f'.repeat(64) } })).rejects.toMatchObject({
      code: 'P2002',
    });
  });
});
