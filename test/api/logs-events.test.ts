import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, LogPage } from '@mpiaas/contracts';
import { type ApiHarness, jobBody, startApi } from './support/api-harness';
import { LiveEvents, rawText, type SseEvent, sseEvents } from './support/sse';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
});

afterAll(async () => {
  await api?.close();
});

/** A status name or a log text: what a test reads in a stream. */
const label = (event: SseEvent | undefined): string =>
  event?.event === 'log' ? (event.data as { text: string }).text : (event?.data as { status: string }).status;

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

async function submit(np = 2): Promise<string> {
  const res = await request(api.server).post('/jobs').send(jobBody({ np }));
  expect(res.status).toBe(201);
  return (res.body as JobView).id;
}

/** Plays the worker: output chunks of one rank, numbered on from `seq`. */
async function writeLogs(jobId: string, rank: number, stream: 'STDOUT' | 'STDERR', texts: string[], seq = 0): Promise<void> {
  for (const [i, text] of texts.entries()) {
    await api.db.logChunk.create({ data: { jobId, rank, stream, seq: seq + i, text } });
  }
}

async function transition(jobId: string, status: 'RUNNING' | 'SUCCEEDED' | 'FAILED', exitCode?: number, reason?: string) {
  await api.db.job.update({ where: { id: jobId }, data: { status, exitCode, reason, transitions: { create: { status, reason } } } });
}

describe('GET /jobs/{id}/logs', () => {
  let jobId: string;

  beforeAll(async () => {
    jobId = await submit();
    await writeLogs(jobId, 0, 'STDOUT', ['a0\n', 'a1\n']);
    await writeLogs(jobId, 1, 'STDOUT', ['b0\n']);
    await writeLogs(jobId, 1, 'STDERR', ['e0\n']);
    await writeLogs(jobId, 0, 'STDOUT', ['a2\n'], 2);
  });

  const logs = (query: Record<string, string | number> = {}, id = jobId) => request(api.server).get(`/jobs/${id}/logs`).query(query);

  it('returns the chunks in storage order', async () => {
    const res = await logs();
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      { rank: 0, stream: 'stdout', seq: 0, text: 'a0\n' },
      { rank: 0, stream: 'stdout', seq: 1, text: 'a1\n' },
      { rank: 1, stream: 'stdout', seq: 0, text: 'b0\n' },
      { rank: 1, stream: 'stderr', seq: 0, text: 'e0\n' },
      { rank: 0, stream: 'stdout', seq: 2, text: 'a2\n' },
    ]);
    expect(res.body.nextCursor).toMatch(/^\d+$/);
  });

  it('pages with the cursor, and polls: nextCursor stays put until something new is stored', async () => {
    const texts: string[] = [];
    let cursor = '0';
    for (;;) {
      const page = (await logs({ limit: 2, cursor })).body as LogPage;
      if (page.items.length === 0) {
        expect(page.nextCursor).toBe(cursor);
        break;
      }
      texts.push(...page.items.map((i) => i.text));
      cursor = page.nextCursor;
    }
    expect(texts).toEqual(['a0\n', 'a1\n', 'b0\n', 'e0\n', 'a2\n']);
    await writeLogs(jobId, 1, 'STDOUT', ['b1\n'], 1);
    const later = (await logs({ cursor })).body as LogPage;
    expect(later.items.map((i) => i.text)).toEqual(['b1\n']);
    expect(BigInt(later.nextCursor)).toBeGreaterThan(BigInt(cursor));
  });

  it('filters by rank and stream', async () => {
    expect((await logs({ rank: 1, stream: 'stderr' })).body.items.map((i: { text: string }) => i.text)).toEqual(['e0\n']);
    expect((await logs({ rank: 0 })).body.items.map((i: { text: string }) => i.text)).toEqual(['a0\n', 'a1\n', 'a2\n']);
  });

  it('nextCursor is "0" for a job with no output yet', async () => {
    expect((await logs({}, await submit())).body).toEqual({ items: [], nextCursor: '0' });
  });

  it.each([
    [{ limit: 0 }, 'limit must not be less than 1'],
    [{ limit: 1001 }, 'limit must not be greater than 1000'],
    [{ stream: 'both' }, 'stream must be one of the following values'],
    [{ rank: -1 }, 'rank must not be less than 0'],
    [{ cursor: 'abc' }, 'cursor must be the nextCursor of a previous page'],
    [{ cursor: '9'.repeat(19) }, 'cursor must be the nextCursor of a previous page'],
  ])('rejects %o', async (query, rule) => {
    const res = await logs(query);
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(expect.arrayContaining([expect.stringContaining(rule)]));
  });

  it('accepts limit 1000', async () => {
    expect((await logs({ limit: 1000 })).status).toBe(200);
  });

  it('404 for an unknown job', async () => {
    expect((await logs({}, UNKNOWN)).status).toBe(404);
  });
});

describe('GET /jobs/{id}/ranks/{rank}/stdout|stderr', () => {
  let jobId: string;

  beforeAll(async () => {
    jobId = await submit();
    await api.db.jobRank.createMany({ data: [{ jobId, rank: 0 }, { jobId, rank: 1 }] });
    // Stored out of order: the text follows seq. 1200 chunks: more than one read batch.
    const chunks = Array.from({ length: 1200 }, (_, seq) => ({ jobId, rank: 0, stream: 'STDOUT' as const, seq, text: `line ${seq} é\n` }));
    await api.db.logChunk.createMany({ data: chunks.reverse() });
    await writeLogs(jobId, 0, 'STDERR', ['oops\n']);
  });

  it('returns the whole stream as UTF-8 text, in seq order', async () => {
    const res = await request(api.server).get(`/jobs/${jobId}/ranks/0/stdout`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe(Array.from({ length: 1200 }, (_, seq) => `line ${seq} é\n`).join(''));
    const err = await request(api.server).get(`/jobs/${jobId}/ranks/0/stderr`);
    expect(err.text).toBe('oops\n');
  });

  it('is empty for a rank with no output', async () => {
    const res = await request(api.server).get(`/jobs/${jobId}/ranks/1/stderr`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });

  it('404 for an unknown rank or job, 400 for a rank that is not a number', async () => {
    const rank = await request(api.server).get(`/jobs/${jobId}/ranks/2/stdout`);
    expect(rank.status).toBe(404);
    expect(rank.body.message).toBe(`job ${jobId} has no rank 2`);
    expect((await request(api.server).get(`/jobs/${UNKNOWN}/ranks/0/stdout`)).status).toBe(404);
    expect((await request(api.server).get(`/jobs/${jobId}/ranks/x/stdout`)).status).toBe(400);
  });
});

describe('GET /jobs/{id}/events', () => {
  const events = (jobId: string, lastEventId?: string) => {
    const req = request(api.server).get(`/jobs/${jobId}/events`).buffer(true).parse(rawText);
    return lastEventId === undefined ? req : req.set('last-event-id', lastEventId);
  };

  it('replays a finished job: statuses and logs in order, each with a resumable id, then ends', async () => {
    const jobId = await submit();
    await transition(jobId, 'RUNNING');
    await writeLogs(jobId, 0, 'STDOUT', ['hello\n']);
    await writeLogs(jobId, 1, 'STDERR', ['warn\n']);
    await transition(jobId, 'FAILED', 1, 'rank 1 exited with code 1');

    const res = await events(jobId);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const got = sseEvents(res);
    expect(got.map((e) => [e.event, e.data])).toEqual([
      ['status', { status: 'QUEUED', reason: null, exitCode: null }],
      ['status', { status: 'RUNNING', reason: null, exitCode: null }],
      ['log', { rank: 0, stream: 'stdout', seq: 0, text: 'hello\n' }],
      ['log', { rank: 1, stream: 'stderr', seq: 0, text: 'warn\n' }],
      ['status', { status: 'FAILED', reason: 'rank 1 exited with code 1', exitCode: 1 }],
    ]);
    expect(got.every((e) => /^\d+\.\d+$/.test(e.id ?? ''))).toBe(true);

    // Resuming after each event sends exactly the rest.
    for (const [i, event] of got.entries()) {
      const rest = sseEvents(await events(jobId, event.id));
      expect(rest).toEqual(got.slice(i + 1));
    }
  });

  it('follows a live job: rows stored while the stream is open, until the final status', async () => {
    const jobId = await submit();
    const stream = events(jobId).then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await transition(jobId, 'RUNNING');
    await writeLogs(jobId, 0, 'STDOUT', ['one\n']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await writeLogs(jobId, 0, 'STDOUT', ['two\n'], 1);
    await transition(jobId, 'SUCCEEDED', 0);

    const got = sseEvents(await stream);
    expect(got.map(label)).toEqual([
      'QUEUED',
      'RUNNING',
      'one\n',
      'two\n',
      'SUCCEEDED',
    ]);
    expect(got.at(-1)?.data).toEqual({ status: 'SUCCEEDED', reason: null, exitCode: 0 });
  });

  it('resumes a live stream with Last-Event-ID without loss or repetition', async () => {
    const jobId = await submit();
    await transition(jobId, 'RUNNING');
    await writeLogs(jobId, 0, 'STDOUT', ['before\n']);
    const url = `${api.url}/jobs/${jobId}/events`;
    const first = new LiveEvents(url);
    await first.open();
    const seen = [await first.next(), await first.next(), await first.next()];
    expect(seen.map(label)).toEqual(['QUEUED', 'RUNNING', 'before\n']);
    first.close(); // the connection drops...

    // ...more is stored while the client is away, and the job ends.
    await writeLogs(jobId, 0, 'STDOUT', ['after\n'], 1);
    await transition(jobId, 'SUCCEEDED', 0);

    const resumed = new LiveEvents(url, seen[2]!.id);
    await resumed.open();
    const rest: string[] = [];
    for (let event = await resumed.next(); event; event = await resumed.next()) rest.push(label(event));
    expect(rest).toEqual(['after\n', 'SUCCEEDED']);
  });

  it('sends a backlog larger than one read before the final status', async () => {
    const jobId = await submit();
    await transition(jobId, 'RUNNING');
    await api.db.logChunk.createMany({
      data: Array.from({ length: 1200 }, (_, seq) => ({ jobId, rank: 0, stream: 'STDOUT' as const, seq, text: `${seq}\n` })),
    });
    await transition(jobId, 'SUCCEEDED', 0);
    const got = sseEvents(await events(jobId)).map(label);
    expect(got).toEqual(['QUEUED', 'RUNNING', ...Array.from({ length: 1200 }, (_, seq) => `${seq}\n`), 'SUCCEEDED']);
  });

  it('a queued job cancelled while watched ends the stream with CANCELLED', async () => {
    const jobId = await submit();
    const stream = events(jobId).then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await request(api.server).post(`/jobs/${jobId}/cancel`)).status).toBe(202);
    const got = sseEvents(await stream);
    expect(got.map((e) => e.data)).toEqual([
      { status: 'QUEUED', reason: null, exitCode: null },
      { status: 'CANCELLED', reason: 'cancelled by user', exitCode: null },
    ]);
  });

  it('404 (JSON) for an unknown job; 400 for a malformed Last-Event-ID', async () => {
    const missing = await request(api.server).get(`/jobs/${UNKNOWN}/events`);
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/application\/json/);
    expect(missing.body.error).toBe('Not Found');
    const jobId = await submit();
    expect((await request(api.server).get(`/jobs/${jobId}/events`).set('last-event-id', 'x')).status).toBe(400);
  });
});
