import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyHash, newApiKey } from '../../apps/api/src/auth/api-key-secret';
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

  it('keeps the health checks and the docs open (probes carry no credentials)', async () => {
    await request(api.server).get('/healthz').expect(200);
    await request(api.server).get('/readyz').expect(200);
    const doc = await request(api.server).get('/docs-json').expect(200);
    expect(doc.body.security).toEqual([{ bearer: [] }]);
  });
});
