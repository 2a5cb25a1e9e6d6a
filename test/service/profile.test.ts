// The profile through the service: POST /jobs with ranks on two workers, GET
// /jobs/{id}/profile with each op's calls, bytes, time and wait, and the workers'
// mpiaas_collective_seconds fed from their ranks' profiles.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobProfileView, JobView } from '@mpiaas/contracts';
import { fixture, REPO_ROOT } from '../support/mpiaas-exec';
import { expectProfileOfCalls } from '../support/profile-checks';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { freePort, ServiceStack } from '../support/service-stack';

let stack: ServiceStack;
let workerMetrics: string[];

beforeAll(async () => {
  const ports = [await freePort(), await freePort()];
  workerMetrics = ports.map((port) => `http://127.0.0.1:${port}`);
  stack = await ServiceStack.start({ workers: 0, workerEnv: { SLOTS: '2', METRICS_PORT: '0' } });
  for (const port of ports) stack.startWorker({ METRICS_PORT: String(port) });
});

afterAll(async () => {
  await stack?.stop();
});

async function finished(id: string): Promise<JobView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
    if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What ranks 0..np-1 send in 5 allreduce of their rank (pickles, as the shim makes them). */
function allreduceBytes(np: number): number {
  const code = `import sys; sys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, 'packages/runtime/python'))})
from mpi4py import MPI
print(sum(5 * len(MPI.pickle.dumps(r)) for r in range(${np})))`;
  return Number(spawnSync(process.env.MPIAAS_PYTHON ?? 'python3', ['-c', code], { encoding: 'utf8', env: {} }).stdout.trim());
}

async function collectiveCount(op: string): Promise<number> {
  let total = 0;
  for (const base of workerMetrics) {
    const families = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    total += sampleValue(families, 'mpiaas_collective_seconds_count', { op }) ?? 0;
  }
  return total;
}

describe('GET /jobs/{id}/profile', () => {
  it('per op and per rank, for a job whose ranks ran on two workers; Prometheus counts the collectives', async () => {
    const script = readFileSync(fixture('profile_calls.py'), 'utf8');
    const created = (await request(stack.url).post('/jobs').send({ script, np: 3, placement: 'spread' }).expect(201)).body as JobView;
    const job = await finished(created.id);
    expect(job.status, job.reason ?? '').toBe('SUCCEEDED');
    expect(new Set(job.ranks.map((rank) => rank.worker)).size).toBe(2);
    const profile = (await request(stack.url).get(`/jobs/${job.id}/profile`).expect(200)).body as JobProfileView;
    expectProfileOfCalls(profile, 3, allreduceBytes(3));
    expect(await collectiveCount('Bcast')).toBe(30);
    expect(await collectiveCount('allreduce')).toBe(15);
  });

  it('404 for a job with none (its ranks never imported mpi4py) and for an unknown job', async () => {
    const created = (await request(stack.url).post('/jobs').send({ script: 'print(1)\n', np: 1 }).expect(201)).body as JobView;
    expect((await finished(created.id)).status).toBe('SUCCEEDED');
    await request(stack.url).get(`/jobs/${created.id}/profile`).expect(404);
    await request(stack.url).get('/jobs/00000000-0000-4000-8000-000000000000/profile').expect(404);
  });
});
