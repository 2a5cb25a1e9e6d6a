import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlChannel, type JobPage, type JobStatus, type JobView } from '@mpiaas/contracts';
import { type ApiHarness, jobBody, startApi } from './support/api-harness';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
});

async function submit(overrides: Record<string, unknown> = {}): Promise<JobView> {
  const res = await request(api.server).post('/jobs').send(jobBody(overrides));
  expect(res.status).toBe(201);
  return res.body as JobView;
}

/** What a worker does when it starts or ends a job. */
async function setStatus(id: string, status: JobStatus, data: { reason?: string; exitCode?: number } = {}): Promise<void> {
  await api.db.job.update({ where: { id }, data: { status, ...data, transitions: { create: { status, reason: data.reason } } } });
}

describe('GET /jobs', () => {
  let ids: string[]; // oldest first

  beforeAll(async () => {
    ids = [];
    for (let i = 0; i < 7; i++) ids.push((await submit({ name: `list-${i}`, labels: { suite: 'list' } })).id);
    await setStatus(ids[1]!, 'RUNNING');
    await setStatus(ids[4]!, 'RUNNING');
  });

  const list = (query: Record<string, string | number>) => request(api.server).get('/jobs').query(query);

  it('pages newest first with an opaque cursor, nextCursor null at the end', async () => {
    const seen: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const res = await list({ limit: 3, ...(cursor ? { cursor } : {}) });
      expect(res.status).toBe(200);
      const page = res.body as JobPage;
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('keeps a stable order for jobs created in the same millisecond', async () => {
    const at = new Date('2020-01-01T00:00:00.000Z');
    const same = await Promise.all([1, 2, 3].map(() => api.db.job.create({ data: { np: 1, script: 'x', timeoutSeconds: 1, createdAt: at, status: 'SUCCEEDED' } })));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: JobPage = (await list({ limit: 1, status: 'SUCCEEDED', ...(cursor ? { cursor } : {}) })).body;
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(same.map((j) => j.id).sort().reverse());
  });

  it('filters by status', async () => {
    const res = await list({ status: 'RUNNING' });
    expect(res.body.items.map((j: JobView) => j.id)).toEqual([ids[4], ids[1]]);
    expect(res.body.nextCursor).toBeNull();
  });

  it('defaults to 20 items', async () => {
    for (let i = 0; i < 15; i++) await submit({ name: `bulk-${i}` });
    const res = await list({});
    expect(res.body.items).toHaveLength(20);
    expect(res.body.nextCursor).toEqual(expect.any(String));
  });

  it.each([
    [{ limit: 0 }, 'limit must not be less than 1'],
    [{ limit: 101 }, 'limit must not be greater than 100'],
    [{ limit: 'ten' }, 'limit must be an integer number'],
    [{ status: 'DONE' }, 'status must be one of the following values'],
    [{ foo: 'bar' }, 'property foo should not exist'],
  ])('rejects %o', async (query, rule) => {
    const res = await list(query);
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(expect.arrayContaining([expect.stringContaining(rule)]));
  });

  it('accepts the limit bounds', async () => {
    expect((await list({ limit: 1 })).body.items).toHaveLength(1);
    expect((await list({ limit: 100 })).status).toBe(200);
  });

  it('rejects a malformed cursor', async () => {
    const res = await list({ cursor: 'not-a-cursor' });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/cursor is malformed/);
  });
});

describe('POST /jobs/{id}/cancel', () => {
  it('cancels a queued job and takes it off the queue', async () => {
    const job = await submit();
    expect(await api.queue.getJob(job.id)).toBeDefined();
    const res = await request(api.server).post(`/jobs/${job.id}/cancel`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: job.id, status: 'CANCELLED', reason: 'cancelled by user', finishedAt: expect.any(String) });
    expect(await api.queue.getJob(job.id)).toBeUndefined();
    const transitions = await api.db.jobTransition.findMany({ where: { jobId: job.id }, orderBy: { id: 'asc' } });
    expect(transitions.map((t) => [t.status, t.reason])).toEqual([
      ['QUEUED', null],
      ['CANCELLED', 'cancelled by user'],
    ]);
  });

  it('asks the workers to cancel a running job: flag set, control message published', async () => {
    const job = await submit();
    await setStatus(job.id, 'RUNNING');
    const subscriber = api.redis.duplicate();
    const messages: string[] = [];
    await subscriber.subscribe(controlChannel(api.config.queuePrefix));
    subscriber.on('message', (_channel, message: string) => messages.push(message));
    try {
      const res = await request(api.server).post(`/jobs/${job.id}/cancel`);
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('RUNNING');
      expect((await api.db.job.findUniqueOrThrow({ where: { id: job.id } })).cancelRequested).toBe(true);
      await expect.poll(() => messages).toEqual([JSON.stringify({ type: 'cancel', jobId: job.id })]);
    } finally {
      subscriber.disconnect();
    }
  });

  it.each(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const)('409 for a %s job, naming its status', async (status) => {
    const job = await submit();
    await setStatus(job.id, 'RUNNING');
    await setStatus(job.id, status);
    const res = await request(api.server).post(`/jobs/${job.id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.message).toBe(`job ${job.id} is already ${status}`);
  });

  it('404 for an unknown job, 400 for a malformed id', async () => {
    expect((await request(api.server).post('/jobs/00000000-0000-4000-8000-000000000000/cancel')).status).toBe(404);
    expect((await request(api.server).post('/jobs/123/cancel')).status).toBe(400);
  });
});
