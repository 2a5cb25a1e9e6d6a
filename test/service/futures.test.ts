import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { ServiceStack } from '../support/service-stack';

let stack: ServiceStack;

beforeAll(async () => {
  stack = await ServiceStack.start({ workers: 1, workerEnv: { SLOTS: '4', LOG_FLUSH_MS: '50' } });
});

afterAll(async () => {
  await stack?.stop();
});

async function waitFinal(id: string, timeoutMs = 45_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
    if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const stdout = async (id: string, rank: number): Promise<string> =>
  (await request(stack.url).get(`/jobs/${id}/ranks/${rank}/stdout`).expect(200)).text;

// Each task takes a while, so both workers get some; `__main__` runs on rank 0 only (the
// workers import the script as `__mp_main__`), as under `mpiexec -n 3 python -m mpi4py.futures`.
const POOL_SCRIPT = `import time
from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor

def square(x):
    time.sleep(0.05)
    return x * x, MPI.COMM_WORLD.Get_rank()

if __name__ == '__main__':
    with MPIPoolExecutor() as pool:
        results = list(pool.map(square, range(8)))
    print('squares', [value for value, _ in results])
    print('served by', sorted({rank for _, rank in results}))
`;

describe('launcher: futures (python -m mpi4py.futures)', () => {
  it('runs an MPIPoolExecutor script at np 3: rank 0 runs it, ranks 1 and 2 serve its tasks', async () => {
    const created = (await request(stack.url).post('/jobs').send({ script: POOL_SCRIPT, np: 3, launcher: 'futures' }).expect(201)).body as JobView;
    expect(created.launcher).toBe('futures');
    const final = await waitFinal(created.id);
    expect(final, stack.logs()).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, launcher: 'futures' });
    expect(final.ranks.map((rank) => rank.exitCode)).toEqual([0, 0, 0]);
    expect(await stdout(created.id, 0)).toBe('squares [0, 1, 4, 9, 16, 25, 36, 49]\nserved by [1, 2]\n');
    expect(await stdout(created.id, 1)).toBe('');
    expect(await stdout(created.id, 2)).toBe('');
  });

  it('runs the same script with the default launcher as a plain script on every rank', async () => {
    // Without -m mpi4py.futures every rank runs __main__, each with a pool of its own.
    const created = (await request(stack.url).post('/jobs').send({ script: POOL_SCRIPT, np: 2 }).expect(201)).body as JobView;
    const final = await waitFinal(created.id);
    expect(final, stack.logs()).toMatchObject({ status: 'SUCCEEDED', launcher: 'script' });
    expect(await stdout(created.id, 1)).toContain('squares [0, 1, 4, 9, 16, 25, 36, 49]');
  });

  it('refuses an unknown launcher with a 400 naming the field and the values allowed', async () => {
    const res = await request(stack.url).post('/jobs').send({ script: POOL_SCRIPT, np: 3, launcher: 'mpiexec' });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(['launcher must be one of the following values: script, futures']);
  });
});
