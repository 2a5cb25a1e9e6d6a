import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { type ApiHarness, jobBody, startApi } from './support/api-harness';

let api: ApiHarness;
/** Every JSON line the api logged, parsed. */
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  api = await startApi({ LOG_LEVEL: 'info' }, { logDestination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
});

afterAll(async () => {
  await api?.close();
});

const submit = (correlationId: string) => request(api.server).post('/jobs').set('x-correlation-id', correlationId).send(jobBody());

describe("the api's log lines", () => {
  it("name the correlation id of the request they were written for, concurrent requests each their own", async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `corr-log-${i}`);
    // Submitted at once, they are stored and queued in shared batches.
    const jobs = (await Promise.all(ids.map((id) => submit(id).expect(201)))).map((res) => res.body as JobView);
    jobs.forEach((job, i) => {
      expect(lines).toContainEqual(expect.objectContaining({ msg: `job ${job.id} queued (np=2)`, correlationId: ids[i], context: 'JobSubmissionService' }));
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'request completed', correlationId: ids[i], req: { method: 'POST', url: '/jobs' }, res: { statusCode: 201 } }),
      );
    });
  });

  it('a request that names no correlation id gets one, in its answer and in its lines', async () => {
    const res = await request(api.server).post('/jobs').send(jobBody()).expect(201);
    const correlationId = res.headers['x-correlation-id'] as string;
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines).toContainEqual(expect.objectContaining({ msg: `job ${(res.body as JobView).id} queued (np=2)`, correlationId }));
  });
});
