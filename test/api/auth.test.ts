import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyHash, newApiKey } from '../../apps/api/src/auth/api-key-secret';
import { CALLER_CACHE_MS } from '../../apps/api/src/auth/caller-cache';
import { jobBody, startApi, type ApiHarness } from './support/api-harness';

let api: ApiHarness;
let key: string;

beforeAll(async () => {
  api = await startApi({ AUTH_MODE: 'api-key' });
  key = newApiKey();
  await api.db.apiKey.create({ data: { name: 'test', keyHash: apiKeyHash(key) } });
});

afterAll(async () => {
  await api?.close();
});

describe('AUTH_MODE=api-key', () => {
  it('refuses a request without a key, naming what is needed', async () => {
    const response = await request(api.server).post('/jobs').send(jobBody()).expect(401);
    expect(response.body).toMatchObject({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'an API key is required: Authorization: Bearer <key>',
    });
    expect(response.body.correlationId).toEqual(expect.any(String));
  });

  it('refuses an unknown key and a revoked one', async () => {
    await request(api.server).get('/jobs').set('authorization', `Bearer ${newApiKey()}`).expect(401);
    const revoked = newApiKey();
    await api.db.apiKey.create({ data: { name: 'old', keyHash: apiKeyHash(revoked), revokedAt: new Date() } });
    const response = await request(api.server).get('/jobs').set('authorization', `Bearer ${revoked}`).expect(401);
    expect(response.body.message).toBe('the API key is not valid (unknown or revoked)');
  });

  it('serves a request with a valid key', async () => {
    const created = await request(api.server).post('/jobs').set('authorization', `Bearer ${key}`).send(jobBody()).expect(201);
    await request(api.server).get(`/jobs/${created.body.id as string}`).set('authorization', `Bearer ${key}`).expect(200);
  });

  it('a key revoked on another replica (here: in the database) is refused within CALLER_CACHE_MS', async () => {
    const other = newApiKey();
    const row = await api.db.apiKey.create({ data: { name: 'elsewhere', keyHash: apiKeyHash(other) } });
    const auth = `Bearer ${other}`;
    await request(api.server).get('/jobs').set('authorization', auth).expect(200);
    await api.db.apiKey.update({ where: { id: row.id }, data: { revokedAt: new Date() } });
    const revokedAt = Date.now();
    // Until CALLER_CACHE_MS has passed the key may still be served; after it, never.
    while (Date.now() - revokedAt < CALLER_CACHE_MS - 100) {
      const status = (await request(api.server).get('/jobs').set('authorization', auth)).status;
      if (status === 401) break;
      expect(status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    await request(api.server).get('/jobs').set('authorization', auth).expect(401);
  });

  it('keeps the health checks and the docs open (probes carry no credentials)', async () => {
    await request(api.server).get('/healthz').expect(200);
    await request(api.server).get('/readyz').expect(200);
    const doc = await request(api.server).get('/docs-json').expect(200);
    expect(doc.body.security).toEqual([{ bearer: [] }]);
  });
});
