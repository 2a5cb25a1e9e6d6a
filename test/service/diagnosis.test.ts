// Deadlocks, mismatches, timeouts and cancels through the service: the job's reason, and
// GET /jobs/{id}/diagnosis with where every rank stood, also with ranks on two workers.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDiagnosisView, JobView } from '@mpiaas/contracts';
import { ServiceStack } from '../support/service-stack';

describe('diagnosis of stuck jobs through the service', () => {
  let stack: ServiceStack;

  beforeAll(async () => {
    stack = await ServiceStack.start({ workers: 2, workerEnv: { SLOTS: '2' } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function submit(body: object): Promise<string> {
    return ((await request(stack.url).post('/jobs').send(body).expect(201)).body as JobView).id;
  }

  async function finished(id: string): Promise<JobView> {
    const deadline = Date.now() + 40_000;
    for (;;) {
      const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
      if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}\n${stack.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const diagnosis = async (id: string): Promise<JobDiagnosisView> => (await request(stack.url).get(`/jobs/${id}/diagnosis`).expect(200)).body as JobDiagnosisView;

  // Declared after three stable one-second snapshots (~4 s); the bound leaves room for two
  // workers starting their ranks on a loaded CI machine, and is far below any time limit, so
  // only the deadlock watch can have ended the job.
  it('a deadlock with ranks on two workers: FAILED within seconds of starting, each rank at its line in recv with its stack', async () => {
    const script = 'from mpi4py import MPI\ncomm = MPI.COMM_WORLD\n\ndef exchange():\n    return comm.recv(source=1 - comm.rank)\n\nexchange()\n';
    const id = await submit({ script, np: 2, placement: 'spread' });
    const job = await finished(id);
    expect(job.status).toBe('FAILED');
    expect(job.reason).toBe('deadlock: ranks 0,1 wait in recv from each other');
    expect(new Set(job.ranks.map((rank) => rank.worker)).size).toBe(2);
    expect(Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')).toBeLessThan(10_000);
    expect(job.diagnosisSummary).toBe('2 ranks (0,1) at script.py:5 in recv');
    const found = await diagnosis(id);
    expect(found.kind).toBe('deadlock');
    expect(found.ranks.map((rank) => [rank.rank, rank.state, rank.where, rank.call])).toEqual([
      [0, 'blocked', 'script.py:5', 'recv'],
      [1, 'blocked', 'script.py:5', 'recv'],
    ]);
    expect(found.ranks[0]?.pending).toEqual([{ op: 'recv', peer: 1, tag: 'any', comm: 'w' }]);
    expect(found.ranks[0]?.stack).toMatch(/script\.py", line 7, in <module>[\s\S]*script\.py", line 5, in exchange/);
  });

  it('a collective mismatch: FAILED at once, naming each call', async () => {
    const script = 'from mpi4py import MPI\ncomm = MPI.COMM_WORLD\nif comm.rank == 0:\n    comm.bcast(1, root=0)\nelse:\n    comm.Barrier()\ncomm.Barrier()\n';
    const job = await finished(await submit({ script, np: 2 }));
    expect(job.status).toBe('FAILED');
    expect(job.reason).toBe('collective mismatch on COMM_WORLD (collective #1): rank 0 called bcast (root 0) at script.py:4, rank 1 called Barrier at script.py:6');
  });

  it('a timeout and a cancel keep where each rank was: in MPI, or running', async () => {
    const script = 'import time\nfrom mpi4py import MPI\ncomm = MPI.COMM_WORLD\nif comm.rank == 0:\n    time.sleep(60)\ncomm.Barrier()\n';
    const timedOut = await finished(await submit({ script, np: 2, timeoutSeconds: 3 }));
    expect(timedOut.status).toBe('TIMED_OUT');
    expect(timedOut.diagnosisSummary).toBe('rank 0 running; rank 1 at script.py:6 in Barrier');
    expect((await diagnosis(timedOut.id)).kind).toBe('timeout');

    const id = await submit({ script, np: 2 });
    for (;;) {
      const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
      if (job.status === 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await request(stack.url).post(`/jobs/${id}/cancel`).expect(202);
    const cancelled = await finished(id);
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.diagnosisSummary).toBe('rank 0 running; rank 1 at script.py:6 in Barrier');
  });

  it('a job that ended by itself has no diagnosis (404)', async () => {
    const job = await finished(await submit({ script: 'print("ok")', np: 1 }));
    expect(job.status).toBe('SUCCEEDED');
    expect(job.diagnosisSummary).toBeNull();
    await request(stack.url).get(`/jobs/${job.id}/diagnosis`).expect(404);
  });
});
