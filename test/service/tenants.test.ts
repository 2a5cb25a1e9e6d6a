// Tenants end to end, as deployed: two api processes sharing Postgres and Redis, one worker.
// A tenant made through the admin API runs a job to its end with its own key; its requests per
// minute are counted across both apis; a revoked key gets 401 from either.
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceStack } from '../support/service-stack';

const ADMIN_KEY = 'service-admin-key-0123456789abcdef012345';
let stack: ServiceStack;
let second: string;

beforeAll(async () => {
  stack = await ServiceStack.start({ workers: 1, workerEnv: { AUTH_MODE: 'api-key', ADMIN_API_KEY: ADMIN_KEY } });
  second = await stack.addApi();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function tenantWithKey(url: string, name: string, quotas: Record<string, number> = {}): Promise<{ id: string; keyId: string; auth: string }> {
  const admin = `Bearer ${ADMIN_KEY}`;
  const tenant = await request(url).post('/admin/tenants').set('authorization', admin).send({ name, quotas }).expect(201);
  const key = await request(url).post(`/admin/tenants/${tenant.body.id as string}/api-keys`).set('authorization', admin).send({ name: 'e2e' }).expect(201);
  return { id: tenant.body.id as string, keyId: key.body.id as string, auth: `Bearer ${key.body.key as string}` };
}

describe('tenants across api processes', () => {
  it("runs a tenant's job to its end with its key; another tenant cannot see it; GET /usage counts its rank-seconds", async () => {
    const tenant = await tenantWithKey(stack.url, 'e2e');
    const stranger = await tenantWithKey(second, 'stranger');
    const script = 'from mpi4py import MPI\nimport time\ntime.sleep(0.3)\nprint("rank", MPI.COMM_WORLD.Get_rank())\n';
    const created = await request(stack.url).post('/jobs').set('authorization', tenant.auth).send({ script, np: 2 }).expect(201);
    const id = created.body.id as string;
    let job: { status: string } = created.body as { status: string };
    for (let i = 0; i < 300 && !['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'].includes(job.status); i++) {
      await delay(100);
      job = (await request(second).get(`/jobs/${id}`).set('authorization', tenant.auth).expect(200)).body as { status: string };
    }
    expect(job.status, stack.logs()).toBe('SUCCEEDED');
    const stdout = await request(stack.url).get(`/jobs/${id}/ranks/1/stdout`).set('authorization', tenant.auth).expect(200);
    expect(stdout.text).toBe('rank 1\n');
    await request(second).get(`/jobs/${id}`).set('authorization', stranger.auth).expect(404);
    const usage = await request(second).get('/usage').set('authorization', tenant.auth).expect(200);
    expect(usage.body.rankSeconds.month).toBeGreaterThan(0.5); // 2 ranks × ≥ 0.3 s
    expect(usage.body.queued.jobs + usage.body.running.jobs).toBe(0);
  });

  it('counts requests per minute of one key across both apis (Redis), and 429s on either past it', async () => {
    const tenant = await tenantWithKey(stack.url, 'rate', { requestsPerMinute: 6 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await request(i % 2 ? second : stack.url).get('/usage').set('authorization', tenant.auth)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    for (const url of [stack.url, second]) {
      const refused = await request(url).get('/jobs').set('authorization', tenant.auth).expect(429);
      expect(refused.body).toMatchObject({ quota: 'requestsPerMinute', limit: 6 });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it('a revoked key gets 401 at once from the api that revoked it, from every other within the 1 s a found key is reused', async () => {
    const tenant = await tenantWithKey(second, 'revoked');
    await request(stack.url).get('/jobs').set('authorization', tenant.auth).expect(200);
    await request(second).delete(`/admin/api-keys/${tenant.keyId}`).set('authorization', `Bearer ${ADMIN_KEY}`).expect(200);
    const revokedAt = Date.now();
    await request(second).get('/jobs').set('authorization', tenant.auth).expect(401);
    let status = 0;
    while ((status = (await request(stack.url).get('/jobs').set('authorization', tenant.auth)).status) !== 401) {
      expect(Date.now() - revokedAt, `the other api still answers ${status}`).toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
