// Admission on real Postgres and Redis: each hard quota answers 429 with Retry-After and a body
// naming the quota and the use now; the service's backlog answers 503; GET /usage.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobBody, startApi, type ApiHarness } from './support/api-harness';
import { ADMIN_KEY, newTenant, type TestTenant } from './support/tenants';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi({ AUTH_MODE: 'api-key', ADMIN_API_KEY: ADMIN_KEY, MAX_NP: '64', BACKLOG_MAX_QUEUED_RANKS: '40' });
});

afterAll(async () => {
  await api?.close();
});

const submit = (tenant: TestTenant, overrides: Record<string, unknown> = {}) =>
  request(api.server).post('/jobs').set('authorization', tenant.auth).send(jobBody({ np: 1, ...overrides }));

function expectQuota(response: request.Response, status: number, quota: string, limit: number, used: number, retryAfter?: number): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, quota, limit, used, correlationId: expect.any(String) });
  expect(response.body.message).toContain(quota);
  const header = Number(response.headers['retry-after']);
  expect(header).toBeGreaterThan(0);
  if (retryAfter !== undefined) expect(header).toBe(retryAfter);
}

describe('quotas of a tenant', () => {
  it('maxQueuedJobs: past it 429, the use counted; a job leaving QUEUED makes room', async () => {
    const tenant = await newTenant(api, 'queued', { maxQueuedJobs: 2 });
    const first = await submit(tenant).expect(201);
    await submit(tenant).expect(201);
    const refused = await submit(tenant);
    expectQuota(refused, 429, 'maxQueuedJobs', 2, 2, 10);
    // Another tenant is not affected.
    await submit(await newTenant(api, 'queued-other', { maxQueuedJobs: 1 })).expect(201);
    await api.db.job.update({ where: { id: first.body.id as string }, data: { status: 'RUNNING' } });
    await submit(tenant).expect(201);
  });

  it('an Idempotency-Key replay is answered even over the quota (its job was admitted)', async () => {
    const tenant = await newTenant(api, 'replay', { maxQueuedJobs: 1 });
    const body = jobBody({ np: 1 });
    const first = await request(api.server).post('/jobs').set('authorization', tenant.auth).set('idempotency-key', 'k1').send(body).expect(201);
    const again = await request(api.server).post('/jobs').set('authorization', tenant.auth).set('idempotency-key', 'k1').send(body).expect(200);
    expect(again.body.id).toBe(first.body.id);
    // The same key is another tenant's own.
    const other = await newTenant(api, 'replay-other');
    const theirs = await request(api.server).post('/jobs').set('authorization', other.auth).set('idempotency-key', 'k1').send(body).expect(201);
    expect(theirs.body.id).not.toBe(first.body.id);
  });

  it('maxNp, maxTimeoutSeconds and an np above maxRunningRanks: 429 naming the quota and the value asked', async () => {
    const tenant = await newTenant(api, 'sizes', { maxNp: 4, maxTimeoutSeconds: 60, maxRunningRanks: 3 });
    expectQuota(await submit(tenant, { np: 5 }), 429, 'maxNp', 4, 5, 3600);
    expectQuota(await submit(tenant, { timeoutSeconds: 61 }), 429, 'maxTimeoutSeconds', 60, 61, 3600);
    expectQuota(await submit(tenant, { np: 4 }), 429, 'maxRunningRanks', 3, 4, 3600);
    // No timeoutSeconds: the default (600) is lowered to the tenant's limit rather than refused.
    const fits = await submit(tenant, { np: 3 }).expect(201);
    expect(fits.body.timeoutSeconds).toBe(60);
    // MAX_NP stays the server's bound: above it, a 400 naming the rule.
    expect((await submit(tenant, { np: 65 })).status).toBe(400);
  });

  it('requestsPerMinute: past it 429 for that key only, Retry-After = the rest of the minute', async () => {
    const tenant = await newTenant(api, 'rate', { requestsPerMinute: 3 });
    for (let i = 0; i < 3; i++) await request(api.server).get('/jobs').set('authorization', tenant.auth).expect(200);
    const refused = await request(api.server).get('/usage').set('authorization', tenant.auth);
    expectQuota(refused, 429, 'requestsPerMinute', 3, 4);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    const other = await newTenant(api, 'rate-other', { requestsPerMinute: 3 });
    await request(api.server).get('/jobs').set('authorization', other.auth).expect(200);
  });
});

describe('GET /usage', () => {
  it("counts the caller's queued and running jobs and ranks and its rank-seconds this day and month", async () => {
    const tenant = await newTenant(api, 'usage', { maxNp: 16 });
    const empty = await request(api.server).get('/usage').set('authorization', tenant.auth).expect(200);
    expect(empty.body).toEqual({
      tenantId: tenant.id,
      queued: { jobs: 0, ranks: 0 },
      running: { jobs: 0, ranks: 0 },
      rankSeconds: { day: 0, month: 0 },
      quotas: expect.objectContaining({ maxNp: 16 }),
    });
    await submit(tenant, { np: 2 }).expect(201);
    const running = await submit(tenant, { np: 3 }).expect(201);
    const done = await submit(tenant, { np: 4 }).expect(201);
    const now = Date.now();
    await api.db.job.update({ where: { id: running.body.id as string }, data: { status: 'RUNNING', startedAt: new Date(now - 10_000) } });
    await api.db.job.update({
      where: { id: done.body.id as string },
      data: { status: 'SUCCEEDED', startedAt: new Date(now - 60_000), finishedAt: new Date(now - 50_000) },
    });
    const usage = await request(api.server).get('/usage').set('authorization', tenant.auth).expect(200);
    expect(usage.body.queued).toEqual({ jobs: 1, ranks: 2 });
    expect(usage.body.running).toEqual({ jobs: 1, ranks: 3 });
    // 3 ranks × ~10 s running + 4 ranks × 10 s done (unless the day began within the last minute).
    expect(usage.body.rankSeconds.month).toBeGreaterThanOrEqual(70);
    expect(usage.body.rankSeconds.month).toBeLessThan(75);
    // Day and month are summed by separate queries a few ms apart while a job runs.
    expect(usage.body.rankSeconds.day).toBeLessThanOrEqual(usage.body.rankSeconds.month + 0.1);
  });
});

describe('the service backlog', () => {
  it('answers 503 with Retry-After once the queued ranks of all tenants would pass the cap', async () => {
    const tenant = await newTenant(api, 'backlog');
    // The api re-reads the backlog at most once a second: let a count from earlier tests expire.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Queued ranks now, across tenants (earlier tests left some): fill up to the cap of 40.
    const queued = await api.db.job.aggregate({ where: { status: 'QUEUED' }, _sum: { np: true } });
    const room = 40 - (queued._sum.np ?? 0);
    expect(room).toBeGreaterThan(1);
    await submit(tenant, { np: room - 1 }).expect(201);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the api re-reads the backlog once a second
    const refused = await submit(tenant, { np: 2 });
    expectQuota(refused, 503, 'backlogMaxQueuedRanks', 40, 39, 30);
    await submit(tenant, { np: 1 }).expect(201);
  });
});
