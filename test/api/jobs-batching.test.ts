// Concurrent POST /jobs are stored and queued together (SubmissionBatcher); each request still
// gets its own job, its own outcome and its own correlation id, and a tenant's maxQueuedJobs
// holds exactly, within one api process and between replicas. Real Postgres and Redis.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../apps/api/src/create-app';
import { type ApiHarness, jobBody, startApi } from './support/api-harness';
import { ADMIN_KEY, newTenant } from './support/tenants';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi({ AUTH_MODE: 'api-key', ADMIN_API_KEY: ADMIN_KEY, TENANT_REQUESTS_PER_MINUTE: '100000' });
});

afterAll(async () => {
  await api?.close();
});

describe('concurrent POST /jobs', () => {
  it('each request gets its own job, stored QUEUED with its transition and queued once with its correlation id', async () => {
    const tenant = await newTenant(api, 'batch');
    const n = 40;
    const responses = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        request(api.server)
          .post('/jobs')
          .set('authorization', tenant.auth)
          .set('x-correlation-id', `batch-${i}`)
          .send(jobBody({ name: `batch-${i}`, np: 1 + (i % 3), args: [String(i)], labels: { i: String(i) } })),
      ),
    );
    const ids = new Set<string>();
    for (const [i, response] of responses.entries()) {
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body).toMatchObject({ name: `batch-${i}`, np: 1 + (i % 3), args: [String(i)], labels: { i: String(i) }, status: 'QUEUED' });
      expect(response.headers.location).toBe(`/jobs/${response.body.id as string}`);
      ids.add(response.body.id as string);
      const row = await api.db.job.findUniqueOrThrow({ where: { id: response.body.id as string }, include: { transitions: true } });
      expect(row).toMatchObject({ name: `batch-${i}`, tenantId: tenant.id, status: 'QUEUED' });
      expect(row.transitions.map((t) => t.status)).toEqual(['QUEUED']);
      const queued = await api.queue.getJob(row.id);
      expect(queued?.data).toEqual({ jobId: row.id, correlationId: `batch-${i}` });
    }
    expect(ids.size).toBe(n);
  });

  it('a job whose row cannot be stored fails alone; the others are stored', async () => {
    const tenant = await newTenant(api, 'batch-bad');
    // Postgres text cannot hold NUL: this one insert fails, as it would by itself.
    const bodies = Array.from({ length: 12 }, (_, i) => jobBody({ name: `mixed-${i}`, script: i === 5 ? 'print(1)\u0000\n' : 'print(1)\n' }));
    const responses = await Promise.all(bodies.map((body) => request(api.server).post('/jobs').set('authorization', tenant.auth).send(body)));
    expect(responses.map((r) => r.status)).toEqual(bodies.map((_, i) => (i === 5 ? 500 : 201)));
    const stored = await api.db.job.findMany({ where: { tenantId: tenant.id }, select: { name: true, status: true } });
    expect(stored.map((j) => j.name).sort()).toEqual(bodies.map((_, i) => `mixed-${i}`).filter((name) => name !== 'mixed-5').sort());
    expect(await api.queue.getJobCountByTypes('wait', 'prioritized')).toBeGreaterThanOrEqual(11);
  });

  it("admits exactly a tenant's maxQueuedJobs from concurrent requests, 429 for the rest; another tenant is not held back", async () => {
    const tenant = await newTenant(api, 'batch-quota', { maxQueuedJobs: 5 });
    const other = await newTenant(api, 'batch-quota-other', { maxQueuedJobs: 100 });
    const submit = (auth: string) => request(api.server).post('/jobs').set('authorization', auth).send(jobBody({ np: 1 }));
    const responses = await Promise.all([...Array.from({ length: 12 }, () => submit(tenant.auth)), ...Array.from({ length: 8 }, () => submit(other.auth))]);
    const statuses = responses.map((r) => r.status);
    expect(statuses.slice(0, 12).filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.slice(0, 12).filter((s) => s === 429)).toHaveLength(7);
    expect(statuses.slice(12)).toEqual(Array(8).fill(201));
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.body).toMatchObject({ quota: 'maxQueuedJobs', limit: 5, used: 5 });
    expect(await api.db.job.count({ where: { tenantId: tenant.id, status: 'QUEUED' } })).toBe(5);

    // The estimate kept in Redis never refuses by itself: jobs that left the queue make room at once.
    const queued = await api.db.job.findMany({ where: { tenantId: tenant.id }, take: 3 });
    await api.db.job.updateMany({ where: { id: { in: queued.map((j) => j.id) } }, data: { status: 'RUNNING' } });
    const again = await Promise.all(Array.from({ length: 4 }, () => submit(tenant.auth)));
    expect(again.map((r) => r.status).sort()).toEqual([201, 201, 201, 429]);
  });

  it("admits exactly a tenant's maxQueuedJobs between two api replicas counting at once", async () => {
    // A second replica: its own process state (batcher, estimate calls), the same database and queue.
    const replica = await createApp(api.config);
    await replica.listen(0, '127.0.0.1');
    try {
      for (const round of [1, 2, 3]) {
        const tenant = await newTenant(api, `replicas-${round}`, { maxQueuedJobs: 3 });
        const submit = (server: unknown) => request(server as Parameters<typeof request>[0]).post('/jobs').set('authorization', tenant.auth).send(jobBody({ np: 1 }));
        const responses = await Promise.all(Array.from({ length: 16 }, (_, i) => submit(i % 2 ? replica.getHttpServer() : api.server)));
        expect(responses.filter((r) => r.status === 201)).toHaveLength(3);
        expect(responses.filter((r) => r.status === 429)).toHaveLength(13);
        expect(await api.db.job.count({ where: { tenantId: tenant.id, status: 'QUEUED' } })).toBe(3);
      }
    } finally {
      await replica.close();
    }
  });
});
