import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, jobBody, startApi } from './support/api-harness';
import { LiveEvents } from './support/sse';

describe('health', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApi();
  });

  afterAll(async () => {
    await api?.close();
  });

  it('GET /healthz: the process is up', async () => {
    const res = await request(api.server).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz: Postgres, Redis and the queue answer', async () => {
    const res = await request(api.server).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok', queue: 'ok' } });
  });
});

describe('an unexpected error', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApi();
  });

  afterAll(async () => {
    await api?.close();
  });

  it('is a 500 that says nothing about its cause', async () => {
    // A real fault, not a mock: the table is gone for the length of one request.
    await api.db.$executeRawUnsafe('ALTER TABLE jobs RENAME TO jobs_away');
    try {
      const res = await request(api.server).get('/jobs').set('x-correlation-id', 'corr-500');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'Internal server error', correlationId: 'corr-500' });
    } finally {
      await api.db.$executeRawUnsafe('ALTER TABLE jobs_away RENAME TO jobs');
    }
  });
});

describe('with Redis unreachable', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails (after REDIS_TIMEOUT_MS at most).
    api = await startApi({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_TIMEOUT_MS: '300' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('POST /jobs is 503 and the stored job is FAILED, not left QUEUED', async () => {
    const res = await request(api.server).post('/jobs').send(jobBody({ name: 'unqueued' }));
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.stringContaining('could not be queued') });
    const job = await api.db.job.findFirstOrThrow({ where: { name: 'unqueued' }, include: { transitions: { orderBy: { id: 'asc' } } } });
    expect(job.status).toBe('FAILED');
    expect(job.reason).toMatch(/^could not be queued: /);
    expect(job.finishedAt).not.toBeNull();
    expect(job.transitions.map((t) => t.status)).toEqual(['QUEUED', 'FAILED']);
  });

  it('GET /readyz is 503 naming what failed', async () => {
    const res = await request(api.server).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/^not ready: redis \(.+\), queue \(.+\)$/);
    expect(res.body.message).not.toMatch(/database/);
  });

  it('GET /healthz still answers', async () => {
    expect((await request(api.server).get('/healthz')).status).toBe(200);
  });
});

describe('shutdown', () => {
  it('closes promptly with an event stream open', async () => {
    const api = await startApi();
    try {
      const { body } = await request(api.server).post('/jobs').send(jobBody());
      const stream = new LiveEvents(`${api.url}/jobs/${body.id}/events`);
      await stream.open();
      expect((await stream.next())?.event).toBe('status');
      const started = Date.now();
      await api.closeApp();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await stream.next().catch(() => undefined)).toBeUndefined();
    } finally {
      await api.close();
    }
  });
});
