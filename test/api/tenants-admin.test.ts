// The admin API (tenants, quotas, keys) and revocation, on real Postgres and Redis.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT_ID } from '@mpiaas/contracts';
import { apiKeyHash } from '../../apps/api/src/auth/api-key-secret';
import { jobBody, startApi, type ApiHarness } from './support/api-harness';
import { ADMIN_KEY, newTenant } from './support/tenants';

let api: ApiHarness;
const admin = `Bearer ${ADMIN_KEY}`;

beforeAll(async () => {
  api = await startApi({ AUTH_MODE: 'api-key', ADMIN_API_KEY: ADMIN_KEY, MAX_NP: '64', TENANT_MAX_QUEUED_JOBS: '50' });
});

afterAll(async () => {
  await api?.close();
});

describe('admin API', () => {
  it('creates a tenant with its quotas in force (own ones, else the defaults) and lists it', async () => {
    const created = await request(api.server)
      .post('/admin/tenants')
      .set('authorization', admin)
      .send({ name: 'physics', quotas: { maxNp: 8 } })
      .expect(201);
    expect(created.body).toMatchObject({
      id: expect.any(String),
      name: 'physics',
      quotas: { maxQueuedJobs: 50, maxRunningRanks: 1024, maxNp: 8, maxTimeoutSeconds: 86_400, requestsPerMinute: 600 },
      overrides: { maxNp: 8 },
    });
    const list = await request(api.server).get('/admin/tenants').set('authorization', admin).expect(200);
    expect(list.body.map((t: { name: string }) => t.name)).toEqual(['default', 'physics']);
    expect(list.body[0].id).toBe(DEFAULT_TENANT_ID);
    await request(api.server).post('/admin/tenants').set('authorization', admin).send({ name: 'physics' }).expect(409);
  });

  it('changes quotas with PATCH: a number sets one, null goes back to the default, absent ones stay', async () => {
    const { id } = await newTenant(api, 'patchme', { maxNp: 4, maxQueuedJobs: 3 });
    const patched = await request(api.server)
      .patch(`/admin/tenants/${id}`)
      .set('authorization', admin)
      .send({ quotas: { maxNp: null, requestsPerMinute: 10 } })
      .expect(200);
    expect(patched.body.overrides).toEqual({ maxQueuedJobs: 3, requestsPerMinute: 10 });
    expect(patched.body.quotas).toMatchObject({ maxNp: 64, maxQueuedJobs: 3, requestsPerMinute: 10 });
    await request(api.server).patch(`/admin/tenants/${randomUUID()}`).set('authorization', admin).send({ quotas: {} }).expect(404);
  });

  it('names the field and the rule of a bad request', async () => {
    const bad = await request(api.server)
      .post('/admin/tenants')
      .set('authorization', admin)
      .send({ name: 'bad name!', quotas: { maxNp: 65, maxQueuedJobs: 0, speed: 1 } })
      .expect(400);
    expect(bad.body.message).toEqual(
      expect.arrayContaining([
        'name must be letters, digits, ".", "_" or "-", starting with a letter or digit',
        'quotas.maxNp must not be greater than 64',
        'quotas.maxQueuedJobs must not be less than 1',
        'quotas.property speed should not exist',
      ]),
    );
    const noQuotas = await request(api.server).patch(`/admin/tenants/${DEFAULT_TENANT_ID}`).set('authorization', admin).send({}).expect(400);
    expect(noQuotas.body.message).toEqual(expect.arrayContaining(['quotas should not be null or undefined']));
  });

  it('shows a key once, stores only its hash, lists it by prefix with lastUsedAt, and a revoked key gets 401', async () => {
    const tenant = await newTenant(api, 'keys');
    expect(tenant.key).toMatch(/^mpk_[A-Za-z0-9_-]{43}$/);
    const row = await api.db.apiKey.findUniqueOrThrow({ where: { id: tenant.keyId } });
    expect(row.keyHash).toBe(apiKeyHash(tenant.key));
    expect(JSON.stringify(row)).not.toContain(tenant.key);

    await request(api.server).get('/jobs').set('authorization', tenant.auth).expect(200);
    const listed = await request(api.server).get(`/admin/tenants/${tenant.id}/api-keys`).set('authorization', admin).expect(200);
    expect(listed.body).toEqual([
      {
        id: tenant.keyId,
        tenantId: tenant.id,
        name: 'keys-key',
        prefix: tenant.key.slice(0, 12),
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        revokedAt: null,
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(tenant.key);

    const revoked = await request(api.server).delete(`/admin/api-keys/${tenant.keyId}`).set('authorization', admin).expect(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const refused = await request(api.server).post('/jobs').set('authorization', tenant.auth).send(jobBody()).expect(401);
    expect(refused.body.message).toBe('the API key is not valid (unknown or revoked)');
    await request(api.server).delete(`/admin/api-keys/${randomUUID()}`).set('authorization', admin).expect(404);
  });

  it('takes only the admin key: none, a wrong one or a tenant key get 401', async () => {
    const tenant = await newTenant(api, 'notadmin');
    await request(api.server).get('/admin/tenants').expect(401);
    await request(api.server).get('/admin/tenants').set('authorization', `Bearer ${ADMIN_KEY}x`).expect(401);
    const asTenant = await request(api.server).get('/admin/tenants').set('authorization', tenant.auth).expect(401);
    expect(asTenant.body.message).toBe('the admin key is not valid');
  });
});

describe('admin API without ADMIN_API_KEY', () => {
  it('does not exist (404), whatever the key', async () => {
    const off = await startApi({ AUTH_MODE: 'none' });
    try {
      const response = await request(off.server).get('/admin/tenants').set('authorization', admin).expect(404);
      expect(response.body.message).toBe('the admin API is disabled: set ADMIN_API_KEY to enable it');
    } finally {
      await off.close();
    }
  });
});
