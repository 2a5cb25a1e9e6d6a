// GET /metrics on the api's and a worker's metrics ports (separate listeners, no API key),
// scraped while real jobs run through POST /jobs: counters move, histograms count, cluster
// gauges follow Postgres, and the text parses as Prometheus reads it.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { parsePrometheusText, sampleValue, type Family } from '../support/prometheus-text';
import { freePort, ServiceStack } from '../support/service-stack';

let stack: ServiceStack;
let apiMetrics: string;
let workerMetrics: string;

beforeAll(async () => {
  const [apiPort, workerPort] = [await freePort(), await freePort()];
  apiMetrics = `http://127.0.0.1:${apiPort}`;
  workerMetrics = `http://127.0.0.1:${workerPort}`;
  // The env given here is the api's too; the worker gets a port of its own.
  stack = await ServiceStack.start({ workers: 0, workerEnv: { METRICS_PORT: String(apiPort), SLOTS: '2', LOG_FLUSH_MS: '50' } });
  stack.startWorker({ METRICS_PORT: String(workerPort) });
  await waitFor(async () => (await fetch(`${workerMetrics}/metrics`).catch(() => undefined))?.ok === true, 'the worker metrics port');
});

afterAll(async () => {
  await stack?.stop();
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function scrape(base: string): Promise<{ text: string; families: Map<string, Family> }> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, families: parsePrometheusText(text) };
}

async function submit(body: object, headers: Record<string, string> = {}): Promise<JobView> {
  return (await request(stack.url).post('/jobs').set(headers).send(body).expect((res) => expect([200, 201]).toContain(res.status))).body as JobView;
}

async function waitStatus(id: string, done: (job: JobView) => boolean, timeoutMs = 60_000): Promise<JobView> {
  let job: JobView | undefined;
  await waitFor(async () => {
    job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
    return done(job);
  }, `job ${id}`, timeoutMs);
  return job as JobView;
}

const final = (job: JobView): boolean => !['QUEUED', 'RUNNING'].includes(job.status);
const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number =>
  sampleValue(families, name, labels) ?? Number.NaN;

describe('metrics', () => {
  it('api and worker expose their families and the default process metrics, in a format that parses', async () => {
    const api = await scrape(apiMetrics);
    expect(api.families.get('mpiaas_jobs_submitted_total')?.type).toBe('counter');
    expect(api.families.get('mpiaas_jobs_finished_total')?.type).toBe('counter');
    expect(api.families.get('mpiaas_queue_waiting_jobs')?.type).toBe('gauge');
    expect(api.families.get('mpiaas_running_ranks')?.type).toBe('gauge');
    expect(value(api.families, 'mpiaas_jobs_submitted_total')).toBe(0);
    expect(api.families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(api.families.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');

    const worker = await scrape(workerMetrics);
    for (const [name, type] of [
      ['mpiaas_jobs_finished_total', 'counter'],
      ['mpiaas_deadlocks_total', 'counter'],
      ['mpiaas_job_duration_seconds', 'histogram'],
      ['mpiaas_job_wait_seconds', 'histogram'],
      ['mpiaas_collective_seconds', 'histogram'],
      ['process_resident_memory_bytes', 'gauge'],
    ]) {
      expect(worker.families.get(name as string)?.type, name).toBe(type);
    }
    for (const status of ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']) {
      expect(value(worker.families, 'mpiaas_jobs_finished_total', { status })).toBe(0);
    }
  });

  it('is not on the api port, needs no key on its own, and answers 404 elsewhere', async () => {
    await request(stack.url).get('/metrics').expect(404);
    expect((await fetch(`${apiMetrics}/`)).status).toBe(404);
    expect((await fetch(`${workerMetrics}/jobs`)).status).toBe(404);
    expect((await fetch(`${apiMetrics}/metrics`, { method: 'POST' })).status).toBe(404);
  });

  it('counts submissions, finished jobs by status, their durations and waits', async () => {
    const ok = await submit({ script: 'from mpi4py import MPI\nMPI.COMM_WORLD.Barrier()\n', np: 2 });
    const bad = await submit({ script: 'from mpi4py import MPI\nimport sys\nif MPI.COMM_WORLD.rank == 1:\n    sys.exit(3)\n', np: 2 });
    // An Idempotency-Key replay is the same job: counted once.
    const key = { 'Idempotency-Key': `metrics-${Date.now()}` };
    const first = await submit({ script: 'print(1)\n', np: 1 }, key);
    const replay = await submit({ script: 'print(1)\n', np: 1 }, key);
    expect(replay.id).toBe(first.id);

    expect((await waitStatus(ok.id, final)).status).toBe('SUCCEEDED');
    expect((await waitStatus(bad.id, final)).status).toBe('FAILED');
    expect((await waitStatus(first.id, final)).status).toBe('SUCCEEDED');

    const api = await scrape(apiMetrics);
    expect(value(api.families, 'mpiaas_jobs_submitted_total')).toBe(3);
    const worker = await scrape(workerMetrics);
    expect(value(worker.families, 'mpiaas_jobs_finished_total', { status: 'SUCCEEDED' })).toBe(2);
    expect(value(worker.families, 'mpiaas_jobs_finished_total', { status: 'FAILED' })).toBe(1);
    expect(value(worker.families, 'mpiaas_job_duration_seconds_count', { status: 'SUCCEEDED' })).toBe(2);
    expect(value(worker.families, 'mpiaas_job_duration_seconds_count', { status: 'FAILED' })).toBe(1);
    expect(value(worker.families, 'mpiaas_job_duration_seconds_sum', { status: 'SUCCEEDED' })).toBeGreaterThan(0);
    expect(value(worker.families, 'mpiaas_job_wait_seconds_count')).toBe(3);
    expect(value(worker.families, 'mpiaas_job_wait_seconds_sum')).toBeGreaterThanOrEqual(0);
    expect(value(worker.families, 'mpiaas_deadlocks_total')).toBe(0);
    // Aggregates only: no job id, no script, no tenant in either exposition.
    for (const text of [api.text, worker.text]) {
      for (const job of [ok, bad, first]) expect(text).not.toContain(job.id);
      expect(text).not.toContain('sys.exit');
    }
  });

  it('reads waiting jobs and running ranks from the cluster; counts cancels where they happen', async () => {
    const sleeper = await submit({ script: 'import time\ntime.sleep(600)\n', np: 2, timeoutSeconds: 120 });
    await waitStatus(sleeper.id, (job) => job.status === 'RUNNING');
    // Both slots are taken: this one waits.
    const waiting = await submit({ script: 'print(1)\n', np: 2 });
    // The gauges are read from Postgres at most once a second.
    await waitFor(async () => {
      const api = await scrape(apiMetrics);
      return value(api.families, 'mpiaas_queue_waiting_jobs') === 1 && value(api.families, 'mpiaas_running_ranks') === 2;
    }, 'the gauges to show 1 waiting job and 2 running ranks');

    // A QUEUED job is cancelled by the api, a RUNNING one by its worker: each counts its own.
    expect((await request(stack.url).post(`/jobs/${waiting.id}/cancel`).expect(202)).body.status).toBe('CANCELLED');
    await request(stack.url).post(`/jobs/${sleeper.id}/cancel`).expect(202);
    expect((await waitStatus(sleeper.id, final)).status).toBe('CANCELLED');

    const api = await scrape(apiMetrics);
    expect(value(api.families, 'mpiaas_jobs_finished_total', { status: 'CANCELLED' })).toBe(1);
    const worker = await scrape(workerMetrics);
    expect(value(worker.families, 'mpiaas_jobs_finished_total', { status: 'CANCELLED' })).toBe(1);
    expect(value(worker.families, 'mpiaas_job_duration_seconds_count', { status: 'CANCELLED' })).toBe(1);
    await waitFor(async () => {
      const after = await scrape(apiMetrics);
      return value(after.families, 'mpiaas_queue_waiting_jobs') === 0 && value(after.families, 'mpiaas_running_ranks') === 0;
    }, 'the gauges to drop to 0');
  });

  it('counts a job that ends in a deadlock', async () => {
    const script = 'from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ncomm.recv(source=1 - comm.rank)\n';
    const job = await submit({ script, np: 2, timeoutSeconds: 60 });
    const ended = await waitStatus(job.id, final);
    expect(ended.status, JSON.stringify(ended)).toBe('FAILED');
    expect(ended.reason).toMatch(/^deadlock:/);
    const worker = await scrape(workerMetrics);
    expect(value(worker.families, 'mpiaas_deadlocks_total')).toBe(1);
    expect(value(worker.families, 'mpiaas_jobs_finished_total', { status: 'FAILED' })).toBe(2);
  });
});
