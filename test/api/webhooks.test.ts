// Webhooks through the api (docs/outputs.md): the api plays its part for real (Postgres,
// Redis, its BullMQ queue of deliveries) and the test plays the worker, moving the job's
// status in Postgres as a worker does (changeJobStatus). A receiver on loopback checks the
// signature; another fails twice before answering 200; a private address is refused.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeJobStatus, JobStatus } from '@mpiaas/db';
import type { JobView, WebhookDeliveryList } from '@mpiaas/contracts';
import { sendWebhook } from '../../apps/api/src/webhooks/webhook-sender';
import { jobBody, startApi, type ApiHarness } from './support/api-harness';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A receiver answering each POST with the next of `statuses` (then 200); keeps what it got. */
async function receiver(statuses: number[] = []): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(statuses.shift() ?? 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const SECRET = 'whsec-test-0123456789';

describe('webhooks', () => {
  let api: ApiHarness;
  const servers: Server[] = [];

  beforeAll(async () => {
    api = await startApi({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '100', WEBHOOK_BACKOFF_MS: '200', WEBHOOK_ATTEMPTS: '5' });
  });

  afterAll(async () => {
    for (const server of servers) server.close();
    await api?.close();
  });

  async function submit(webhook: object): Promise<JobView> {
    return (await request(api.server).post('/jobs').send(jobBody({ np: 1, webhook })).expect(201)).body as JobView;
  }

  /** As a worker would: RUNNING, then `final`. */
  async function runTo(jobId: string, final: JobStatus, reason: string | null = null): Promise<void> {
    await changeJobStatus(api.db, { jobId, from: [JobStatus.QUEUED], to: JobStatus.RUNNING, data: { attempts: { increment: 1 }, startedAt: new Date() } });
    await changeJobStatus(api.db, { jobId, from: [JobStatus.RUNNING], to: final, reason, data: { exitCode: final === 'SUCCEEDED' ? 0 : 1 } });
  }

  const deliveries = async (jobId: string) => ((await request(api.server).get(`/jobs/${jobId}/webhooks`).expect(200)).body as WebhookDeliveryList).items;

  it('POSTs the job view on RUNNING (asked for) and on the final status, signed with the secret, with a timestamp', async () => {
    const hook = await receiver();
    servers.push(hook.server);
    const job = await submit({ url: hook.url, secret: SECRET, events: ['RUNNING', 'SUCCEEDED', 'FAILED'] });
    expect(job.webhook).toEqual({ url: hook.url, events: ['RUNNING', 'SUCCEEDED', 'FAILED'], signed: true });
    expect(JSON.stringify(job)).not.toContain(SECRET);
    await api.db.job.update({ where: { id: job.id }, data: { result: { answer: 42 } } });
    await runTo(job.id, JobStatus.SUCCEEDED);
    await until('two deliveries', async () => (hook.got.length >= 2 ? true : undefined));
    // Sent concurrently, they may arrive in either order: the delivery id's transition orders them.
    const transitionOf = (r: (typeof hook.got)[number]): number => Number(String(r.headers['x-mpiaas-delivery']).split('.')[1]);
    hook.got.sort((a, b) => transitionOf(a) - transitionOf(b));
    expect(hook.got.map((r) => r.headers['x-mpiaas-event'])).toEqual(['RUNNING', 'SUCCEEDED']);
    for (const { headers, body } of hook.got) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      expect(headers['x-mpiaas-signature']).toBe(expected);
      expect(headers['content-type']).toBe('application/json');
      expect(Math.abs(Number(headers['x-mpiaas-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(headers['x-mpiaas-delivery']).toMatch(new RegExp(`^${job.id}\\.\\d+$`));
    }
    const last = JSON.parse(hook.got[1]!.body) as JobView;
    expect(last).toMatchObject({ id: job.id, status: 'SUCCEEDED', exitCode: 0, result: { answer: 42 } });
    // The body is the job as GET /jobs/{id} shows it.
    expect(last).toEqual((await request(api.server).get(`/jobs/${job.id}`).expect(200)).body);
    const attempts = await until('recorded attempts', async () => {
      const items = await deliveries(job.id);
      return items.length >= 2 ? items : undefined;
    });
    expect(attempts.map((a) => [a.event, a.attempt, a.statusCode, a.ok, a.error])).toEqual(
      expect.arrayContaining([
        ['RUNNING', 1, 200, true, null],
        ['SUCCEEDED', 1, 200, true, null],
      ]),
    );
    expect(attempts).toHaveLength(2);
  });

  it('by default only the final status; a tampered body does not match the signature', async () => {
    const hook = await receiver();
    servers.push(hook.server);
    const job = await submit({ url: hook.url, secret: SECRET });
    expect(job.webhook?.events).toEqual(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);
    await runTo(job.id, JobStatus.FAILED, 'rank 0 exited with code 1');
    await until('a delivery', async () => (hook.got.length >= 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hook.got.map((r) => r.headers['x-mpiaas-event'])).toEqual(['FAILED']);
    const { headers, body } = hook.got[0]!;
    const tampered = body.replace('"FAILED"', '"SUCCEEDED"');
    expect(`sha256=${createHmac('sha256', SECRET).update(tampered).digest('hex')}`).not.toBe(headers['x-mpiaas-signature']);
    expect(JSON.parse(body)).toMatchObject({ status: 'FAILED', reason: 'rank 0 exited with code 1' });
  });

  it('retries with backoff against a receiver that fails twice; every attempt is listed', async () => {
    const hook = await receiver([500, 503]);
    servers.push(hook.server);
    const job = await submit({ url: hook.url });
    expect(job.webhook?.signed).toBe(false);
    await runTo(job.id, JobStatus.SUCCEEDED);
    const attempts = await until('three attempts', async () => {
      const items = await deliveries(job.id);
      return items.length >= 3 ? items : undefined;
    });
    expect(attempts.map((a) => [a.event, a.attempt, a.statusCode, a.ok])).toEqual([
      ['SUCCEEDED', 1, 500, false],
      ['SUCCEEDED', 2, 503, false],
      ['SUCCEEDED', 3, 200, true],
    ]);
    expect(attempts[0]?.error).toBe('the receiver answered 500');
    // Exponential: 200 ms, then 400 ms.
    const at = attempts.map((a) => Date.parse(a.at));
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(150);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(350);
    expect(hook.got).toHaveLength(3);
    expect(new Set(hook.got.map((r) => r.headers['x-mpiaas-delivery'])).size).toBe(1);
    expect(hook.got[0]!.headers['x-mpiaas-signature']).toBeUndefined();
  });

  it('refuses bad webhooks at submission', async () => {
    for (const webhook of [{ url: 'ftp://example.com/x' }, { url: 'not a url' }, { url: 'https://example.com', events: ['DONE'] }, { url: 'https://example.com', secret: '' }]) {
      const refused = await request(api.server).post('/jobs').send(jobBody({ webhook })).expect(400);
      expect(JSON.stringify(refused.body.message)).toMatch(/webhook/);
    }
  });
});

describe('webhooks with WEBHOOK_ALLOW_PRIVATE off (the default)', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    api = await startApi({ WEBHOOK_POLL_MS: '100', WEBHOOK_BACKOFF_MS: '100' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('refuses a loopback or private address at submission, after resolving the name', async () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://10.1.2.3/x', 'http://[::1]/x', 'http://169.254.169.254/latest', 'http://[::ffff:192.168.1.1]/']) {
      const refused = await request(api.server).post('/jobs').send(jobBody({ webhook: { url } })).expect(400);
      expect(refused.body.message[0], url).toMatch(/^webhook\.url: .* resolves to .*, an? .*: refused \(WEBHOOK_ALLOW_PRIVATE is not true\)$/);
    }
  });

  it('refuses at delivery too (a name may resolve elsewhere later): recorded once, not retried', async () => {
    // A job whose webhook was accepted (as if the name resolved to a public address then).
    const job = (await request(api.server).post('/jobs').send(jobBody({ np: 1 })).expect(201)).body as JobView;
    await api.db.job.update({ where: { id: job.id }, data: { webhookUrl: 'http://localhost:9/hook' } });
    await changeJobStatus(api.db, { jobId: job.id, from: [JobStatus.QUEUED], to: JobStatus.CANCELLED, reason: 'cancelled by user' });
    const attempts = await until('a refused attempt', async () => {
      const items = ((await request(api.server).get(`/jobs/${job.id}/webhooks`).expect(200)).body as WebhookDeliveryList).items;
      return items.length > 0 ? items : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = ((await request(api.server).get(`/jobs/${job.id}/webhooks`).expect(200)).body as WebhookDeliveryList).items;
    expect(after).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ event: 'CANCELLED', attempt: 1, statusCode: null, ok: false });
    expect(attempts[0]?.error).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), a loopback address: refused/);
  });

  it('sendWebhook: no redirect is followed, a timeout is an attempt that failed', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const common = { body: '{}', secret: null, event: 'SUCCEEDED', deliveryId: 'x.1', timeoutMs: 300, allowPrivate: true };
    expect(await sendWebhook({ ...common, url: `${base}/redirect` })).toMatchObject({ ok: false, statusCode: 302, refused: false });
    expect(await sendWebhook({ ...common, url: `${base}/slow` })).toMatchObject({ ok: false, statusCode: null, error: 'no answer within 300 ms' });
    expect(await sendWebhook({ ...common, url: `${base}/slow`, allowPrivate: false })).toMatchObject({ ok: false, refused: true });
    server.close();
  });
});
