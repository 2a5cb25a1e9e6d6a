import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_LIMITS, type JobView } from '@mpiaas/contracts';
import { type ApiHarness, jobBody, startApi } from './support/api-harness';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
});

const post = (body: unknown) => request(api.server).post('/jobs').send(body as object);

describe('POST /jobs', () => {
  it('queues a job: 201, Location, the JobView, a QUEUED row with its transition', async () => {
    const res = await post(jobBody({ args: ['--n', '3'], env: { OMP_NUM_THREADS: '1' }, name: 'hello', labels: { team: 'hpc' } }));
    expect(res.status).toBe(201);
    const job = res.body as JobView;
    expect(res.headers.location).toBe(`/jobs/${job.id}`);
    expect(job).toMatchObject({
      status: 'QUEUED',
      np: 2,
      args: ['--n', '3'],
      name: 'hello',
      labels: { team: 'hpc' },
      timeoutSeconds: 600,
      reason: null,
      exitCode: null,
      ranks: [],
    });
    expect(job).not.toHaveProperty('script');
    expect(job).not.toHaveProperty('env');

    const row = await api.db.job.findUniqueOrThrow({ where: { id: job.id }, include: { transitions: true } });
    expect(row.env).toEqual({ OMP_NUM_THREADS: '1' });
    expect(row.transitions.map((t) => t.status)).toEqual(['QUEUED']);

    const got = await request(api.server).get(`/jobs/${job.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(job);
  });

  it('keeps the placement asked for, and says why a queued job waits', async () => {
    const res = await post(jobBody({ np: 3, placement: 'spread', oversubscribe: true }));
    expect(res.status).toBe(201);
    const job = res.body as JobView;
    expect(job).toMatchObject({ placement: 'spread', oversubscribe: true });
    // No worker runs in this test: nobody offers a slot.
    expect(job.pending).toEqual({ reason: 'no live worker', slotsNeeded: 3, slotsFree: 0 });
    const plain = (await post(jobBody())).body as JobView;
    expect(plain).toMatchObject({ placement: 'pack', oversubscribe: false, launcher: 'script' });
  });

  it('keeps the launcher asked for, in the view and the row', async () => {
    const res = await post(jobBody({ launcher: 'futures' }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ launcher: 'futures' });
    const row = await api.db.job.findUniqueOrThrow({ where: { id: (res.body as JobView).id } });
    expect(row.launcher).toBe('FUTURES');
  });

  it('enqueues a run whose BullMQ id is the job id, with {jobId, correlationId}', async () => {
    const res = await post(jobBody()).set('x-correlation-id', 'corr-enqueue-1');
    expect(res.status).toBe(201);
    expect(res.headers['x-correlation-id']).toBe('corr-enqueue-1');
    const queued = await api.queue.getJob(res.body.id);
    expect(queued?.name).toBe('run');
    expect(queued?.data).toEqual({ jobId: res.body.id, correlationId: 'corr-enqueue-1' });
    expect(queued?.opts).toMatchObject({
      attempts: 2,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 10000 },
      removeOnFail: { age: 86400 },
    });
    expect(await queued?.getState()).toBe('waiting');
  });

  it('takes timeoutSeconds from the request, and the default from the config', async () => {
    expect((await post(jobBody({ timeoutSeconds: 30 }))).body.timeoutSeconds).toBe(30);
    expect((await post(jobBody())).body.timeoutSeconds).toBe(api.config.defaultTimeoutSeconds);
  });

  it('accepts the bounds themselves', async () => {
    const res = await post(
      jobBody({
        script: 'é'.repeat(JOB_LIMITS.maxScriptBytes / 2),
        np: 64,
        timeoutSeconds: 86_400,
        name: 'n'.repeat(JOB_LIMITS.maxNameLength),
        args: Array.from({ length: JOB_LIMITS.maxArgs }, () => 'a'),
      }),
    );
    expect(res.status).toBe(201);
  });
});

describe('POST /jobs validation', () => {
  // Each case: the body and one rule the 400's message must state.
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing script', { np: 2 }, 'script must be a string'],
    ['empty script', jobBody({ script: '' }), 'script should not be empty'],
    ['script not a string', jobBody({ script: 42 }), 'script must be a string'],
    [
      'script over the limit in bytes (fewer characters than bytes)',
      jobBody({ script: 'é'.repeat(JOB_LIMITS.maxScriptBytes / 2 + 1) }),
      `script must be at most ${JOB_LIMITS.maxScriptBytes} bytes of UTF-8`,
    ],
    ['missing np', { script: 'x' }, 'np must be an integer number'],
    ['np zero', jobBody({ np: 0 }), 'np must not be less than 1'],
    ['np over MAX_NP', jobBody({ np: 1025 }), 'np must not be greater than 1024'],
    ['np fractional', jobBody({ np: 1.5 }), 'np must be an integer number'],
    ['placement unknown', jobBody({ placement: 'scatter' }), 'placement must be one of the following values: pack, spread'],
    ['oversubscribe not a boolean', jobBody({ oversubscribe: 'yes' }), 'oversubscribe must be a boolean value'],
    ['launcher unknown', jobBody({ launcher: 'mpirun' }), 'launcher must be one of the following values: script, futures'],
    ['np as a string', jobBody({ np: '2' }), 'np must be an integer number'],
    ['args not an array', jobBody({ args: '--n 3' }), 'args must be an array'],
    ['args with a number', jobBody({ args: ['a', 3] }), 'each value in args must be a string'],
    ['too many args', jobBody({ args: Array.from({ length: JOB_LIMITS.maxArgs + 1 }, () => 'a') }), 'args must contain no more than 256 elements'],
    ['an arg too long', jobBody({ args: ['é'.repeat(JOB_LIMITS.maxArgBytes / 2 + 1)] }), 'each value in args must be at most 4096 bytes of UTF-8'],
    ['env not an object', jobBody({ env: ['A=1'] }), 'env must be an object'],
    ['env name lower-case', jobBody({ env: { foo: '1' } }), 'env name "foo" must match ^[A-Z_][A-Z0-9_]*$'],
    ['env name reserved', jobBody({ env: { PYTHONPATH: '/tmp' } }), 'env name "PYTHONPATH" is reserved by the runtime'],
    ['loader variable', jobBody({ env: { LD_PRELOAD: '/tmp/evil.so' } }), 'env name "LD_PRELOAD" is reserved by the runtime'],
    ['env value not a string', jobBody({ env: { A: 1 } }), 'env value of "A" must be a string'],
    [
      'mpi4py release unknown',
      jobBody({ env: { MPIAAS_MPI4PY: '4.2' } }),
      'env value of "MPIAAS_MPI4PY" must name an mpi4py release: 3, 3.1 or 3.1.x (3.1.4), or 4, 4.0, 4.1, 4.0.x or 4.1.x (4.1.2)',
    ],
    ['env value too long', jobBody({ env: { A: 'x'.repeat(JOB_LIMITS.maxEnvValueBytes + 1) } }), 'env value of "A" must be at most 16384 bytes of UTF-8'],
    [
      'too many env vars',
      jobBody({ env: Object.fromEntries(Array.from({ length: JOB_LIMITS.maxEnvVars + 1 }, (_, i) => [`V${i}`, '1'])) }),
      'env must have at most 128 entries',
    ],
    ['timeoutSeconds zero', jobBody({ timeoutSeconds: 0 }), 'timeoutSeconds must not be less than 1'],
    ['timeoutSeconds over the max', jobBody({ timeoutSeconds: 86_401 }), 'timeoutSeconds must not be greater than 86400'],
    ['timeoutSeconds fractional', jobBody({ timeoutSeconds: 1.5 }), 'timeoutSeconds must be an integer number'],
    ['name too long', jobBody({ name: 'n'.repeat(JOB_LIMITS.maxNameLength + 1) }), 'name must be shorter than or equal to 200 characters'],
    ['name not a string', jobBody({ name: 7 }), 'name must be a string'],
    ['labels not an object', jobBody({ labels: 'team=hpc' }), 'labels must be an object'],
    ['label key upper-case', jobBody({ labels: { Team: 'hpc' } }), 'labels key "Team" must match'],
    ['label value not a string', jobBody({ labels: { team: 1 } }), 'labels value of "team" must be a string'],
    ['unknown field', jobBody({ priority: 1 }), 'property priority should not exist'],
  ];

  it.each(cases)('%s → 400', async (_name, body, rule) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('Bad Request');
    expect(res.body.message).toEqual(expect.arrayContaining([expect.stringContaining(rule)]));
  });

  it('lists every broken rule at once', async () => {
    const res = await post({ script: '', np: 2000, extra: true });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(
      expect.arrayContaining(['property extra should not exist', 'script should not be empty', 'np must not be greater than 1024']),
    );
  });

  it('stores nothing and queues nothing for a rejected request', async () => {
    const before = await api.db.job.count();
    const waiting = await api.queue.getWaitingCount();
    await post(jobBody({ np: 0 }));
    expect(await api.db.job.count()).toBe(before);
    expect(await api.queue.getWaitingCount()).toBe(waiting);
  });

  it('a body over BODY_LIMIT is 413 in the error shape', async () => {
    const res = await post(jobBody({ script: 'x'.repeat(3 * 1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large', correlationId: expect.any(String) });
  });

  it('malformed JSON is 400 in the error shape, with the caller\'s correlation id', async () => {
    const res = await request(api.server)
      .post('/jobs')
      .set('content-type', 'application/json')
      .set('x-correlation-id', 'corr-bad-json')
      .send('{"script": "x", np: }');
    expect(res.status).toBe(400);
    expect(res.headers['x-correlation-id']).toBe('corr-bad-json');
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.any(String), correlationId: 'corr-bad-json' });
  });

  it('the error body is {statusCode, error, message, correlationId}, the id also in the header', async () => {
    const res = await post(jobBody({ np: 0 }));
    expect(Object.keys(res.body).sort()).toEqual(['correlationId', 'error', 'message', 'statusCode']);
    expect(res.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-correlation-id']).toBe(res.body.correlationId);
  });

  it('replaces a correlation id that is too long or has odd characters', async () => {
    const res = await request(api.server).get('/healthz').set('x-correlation-id', 'a b<script>');
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    const long = await request(api.server).get('/healthz').set('x-correlation-id', 'x'.repeat(200));
    expect(long.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('Idempotency-Key', () => {
  it('a replay with the same body returns the same job and queues it once', async () => {
    const body = jobBody({ name: 'idem', labels: { b: '2', a: '1' } });
    const first = await post(body).set('idempotency-key', 'key-same');
    expect(first.status).toBe(201);
    // Same request, keys in another order.
    const replay = await request(api.server)
      .post('/jobs')
      .set('idempotency-key', 'key-same')
      .send({ labels: { a: '1', b: '2' }, np: 2, name: 'idem', script: body.script });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.headers.location).toBe(`/jobs/${first.body.id}`);
    expect(await api.db.job.count({ where: { name: 'idem' } })).toBe(1);
    const runs = (await api.queue.getJobs(['waiting'])).filter((j) => j.data.jobId === first.body.id);
    expect(runs).toHaveLength(1);
  });

  it('concurrent requests with one key make one job', async () => {
    const body = jobBody({ name: 'idem-race' });
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(body).set('idempotency-key', 'key-race')));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
  });

  it('the same key with a different body is 409', async () => {
    expect((await post(jobBody({ np: 2 })).set('idempotency-key', 'key-diff')).status).toBe(201);
    const res = await post(jobBody({ np: 3 })).set('idempotency-key', 'key-diff');
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/different request/);
  });

  it('a malformed key is 400', async () => {
    expect((await post(jobBody()).set('idempotency-key', 'has space')).status).toBe(400);
  });
});

describe('GET /jobs/{id}', () => {
  it('404 for an unknown id, in the error shape', async () => {
    const res = await request(api.server).get('/jobs/00000000-0000-4000-8000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringContaining('not found') });
  });

  it('400 for a malformed id', async () => {
    const res = await request(api.server).get('/jobs/not-a-uuid');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('id must be a UUID');
  });

  it('shows the ranks a worker created, ordered by rank', async () => {
    const { body } = await post(jobBody({ np: 3 }));
    await api.db.jobRank.createMany({
      data: [2, 0, 1].map((rank) => ({ jobId: body.id, rank, stdoutBytes: BigInt(rank * 10) })),
    });
    const res = await request(api.server).get(`/jobs/${body.id}`);
    expect(res.body.ranks.map((r: { rank: number; stdoutBytes: number }) => [r.rank, r.stdoutBytes])).toEqual([
      [0, 0],
      [1, 10],
      [2, 20],
    ]);
  });

  it('unknown routes are 404 in the error shape', async () => {
    const res = await request(api.server).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', correlationId: expect.any(String) });
  });
});

describe('OpenAPI', () => {
  it('serves the document with the configured bounds, and the UI', async () => {
    const doc = await request(api.server).get('/docs-json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/jobs', '/jobs/{id}', '/jobs/{id}/cancel', '/jobs/{id}/logs', '/jobs/{id}/events', '/healthz', '/readyz']),
    );
    expect(doc.body.components.schemas.CreateJobDto.properties.np.maximum).toBe(1024);
    expect((await request(api.server).get('/docs/')).status).toBe(200);
  });
});
