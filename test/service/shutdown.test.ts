import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { ServiceStack } from '../support/service-stack';

let stack: ServiceStack;

beforeAll(async () => {
  stack = await ServiceStack.start({ workers: 1, workerEnv: { SHUTDOWN_GRACE_SECONDS: '1' } });
});

afterAll(async () => {
  await stack?.stop();
});

async function job(id: string): Promise<JobView> {
  return (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
}

async function until(id: string, done: (job: JobView) => boolean, timeoutMs = 30_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await job(id);
    if (done(now)) return now;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${now.status}\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a worker told to stop (SIGTERM) with a job longer than its grace period', () => {
  it('requeues the job, which the next worker runs from the start', async () => {
    const body = { script: 'import time\nprint("start", flush=True)\ntime.sleep(3)\nprint("end")\n', np: 1 };
    const { id } = (await request(stack.url).post('/jobs').send(body).expect(201)).body as JobView;
    await until(id, (j) => j.status === 'RUNNING');
    const [worker] = stack.processes.filter((p) => p.name.startsWith('worker'));
    worker?.kill('SIGTERM');
    expect([0, 'SIGTERM']).toContain(await worker?.exited);

    const requeued = await job(id);
    expect(requeued.status).toBe('QUEUED');
    const transitions = await stack.harness.prisma.jobTransition.findMany({ where: { jobId: id }, orderBy: { id: 'asc' } });
    expect(transitions.at(-1)).toMatchObject({ status: 'QUEUED', reason: 'its worker shut down before it finished' });

    stack.startWorker();
    const final = await until(id, (j) => !['QUEUED', 'RUNNING'].includes(j.status));
    expect(final.status, stack.logs()).toBe('SUCCEEDED');
    expect((await request(stack.url).get(`/jobs/${id}/ranks/0/stdout`)).text).toBe('start\nend\n');
  });
});
