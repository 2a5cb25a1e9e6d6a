import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, LogPage } from '@mpiaas/contracts';
import { REPO_ROOT } from '../support/mpiaas-exec';
import { ServiceStack } from '../support/service-stack';

let stack: ServiceStack;

beforeAll(async () => {
  stack = await ServiceStack.start({ workers: 1, workerEnv: { SLOTS: '8', LOG_FLUSH_MS: '50' } });
});

afterAll(async () => {
  await stack?.stop();
});

const example = (name: string): string => readFileSync(path.join(REPO_ROOT, 'examples', name), 'utf8');

async function submit(body: object): Promise<JobView> {
  const response = await request(stack.url).post('/jobs').send(body).expect(201);
  return response.body as JobView;
}

async function waitFinal(id: string, timeoutMs = 30_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
    if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}\n${stack.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function allLogs(id: string, query = ''): Promise<LogPage['items']> {
  const items: LogPage['items'] = [];
  let cursor = '';
  for (;;) {
    const page = (await request(stack.url).get(`/jobs/${id}/logs?limit=2${cursor}${query}`).expect(200)).body as LogPage;
    items.push(...page.items);
    if (page.items.length === 0) return items;
    cursor = `&cursor=${page.nextCursor}`;
  }
}

describe('POST /jobs → queue → worker → ranks → results and logs in Postgres', () => {
  for (const np of [1, 2, 4]) {
    it(`runs the tutorial's hello, numpy broadcast and pi at np ${np}`, async () => {
      const [hello, bcast, pi] = await Promise.all([
        submit({ script: example('hello.py'), np, name: `hello-${np}` }),
        submit({ script: example('numpy_bcast.py'), np }),
        submit({ script: example('pi.py'), np }),
      ]);
      for (const job of [hello, bcast, pi]) {
        const final = await waitFinal(job.id);
        expect(final, stack.logs()).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, reason: null });
        expect(final.ranks.map((r) => r.exitCode)).toEqual(Array.from({ length: np }, () => 0));
      }
      for (let rank = 0; rank < np; rank++) {
        const stdout = (await request(stack.url).get(`/jobs/${hello.id}/ranks/${rank}/stdout`).expect(200)).text;
        expect(stdout).toBe(`Hello! I'm rank ${rank} from ${np} running in total...\n`);
        const line = (await request(stack.url).get(`/jobs/${bcast.id}/ranks/${rank}/stdout`).expect(200)).text;
        expect(line).toContain(`[0${rank}] [0. 1. 2. 3. 4.]`);
      }
      const piOut = (await request(stack.url).get(`/jobs/${pi.id}/ranks/0/stdout`).expect(200)).text;
      expect(piOut).toMatch(/^pi is approximately 3\.14159273692312\d*, error is 0\.0000000833333\d+\n$/);
      const logs = await allLogs(hello.id);
      expect(logs.map((l) => l.rank).sort()).toEqual(Array.from({ length: np }, (_, r) => r));
    });
  }

  it('reports a failing rank: FAILED, the rank, its exit code and stderr tail', async () => {
    const job = await submit({
      script: 'from mpi4py import MPI\nimport sys\ncomm = MPI.COMM_WORLD\ncomm.Barrier()\nif comm.rank == 2:\n    print("giving up", file=sys.stderr)\n    sys.exit(3)\ncomm.Barrier()\n',
      np: 4,
    });
    const final = await waitFinal(job.id);
    expect(final).toMatchObject({ status: 'FAILED', exitCode: 3, failedRank: 2, reason: 'rank 2 exited with code 3' });
    expect(final.stderrTail).toBe('giving up');
    const stderr = await allLogs(job.id, '&rank=2&stream=stderr');
    expect(stderr.map((l) => l.text).join('')).toBe('giving up\n');
  });

  it('answers as the mpi4py release the job names in MPIAAS_MPI4PY, 3.1.4 by default', async () => {
    const script =
      'import mpi4py\nfrom mpi4py import MPI\nt = MPI.INT.Create_vector(2, 1, 3)\n' +
      'print(mpi4py.__version__, len(t.Get_envelope()), MPI.COMM_WORLD.rank)\n';
    const [asDefault, as4] = await Promise.all([
      submit({ script, np: 2 }),
      submit({ script, np: 2, env: { MPIAAS_MPI4PY: '4.1' } }),
    ]);
    for (const [job, expected] of [
      [asDefault, '3.1.4 4'],
      [as4, '4.1.2 5'],
    ] as const) {
      expect(await waitFinal(job.id), stack.logs()).toMatchObject({ status: 'SUCCEEDED' });
      for (const rank of [0, 1]) {
        const stdout = (await request(stack.url).get(`/jobs/${job.id}/ranks/${rank}/stdout`).expect(200)).text;
        expect(stdout).toBe(`${expected} ${rank}\n`);
      }
    }
  });

  it('times a job out: TIMED_OUT', async () => {
    const job = await submit({ script: 'import time\ntime.sleep(30)\n', np: 2, timeoutSeconds: 1 });
    expect(await waitFinal(job.id)).toMatchObject({ status: 'TIMED_OUT', exitCode: 124 });
  });

  it('cancels a running job', async () => {
    const job = await submit({ script: 'import time\nprint("up", flush=True)\ntime.sleep(30)\n', np: 2 });
    for (;;) {
      const now = (await request(stack.url).get(`/jobs/${job.id}`)).body as JobView;
      if (now.status === 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await request(stack.url).post(`/jobs/${job.id}/cancel`).expect(202);
    expect(await waitFinal(job.id, 10_000)).toMatchObject({ status: 'CANCELLED' });
  });

  it('follows a job over Server-Sent Events until it ends', async () => {
    const job = await submit({
      script: 'import time\nfrom mpi4py import MPI\nfor i in range(3):\n    print(f"tick {i} from {MPI.COMM_WORLD.rank}", flush=True)\n    time.sleep(0.2)\n',
      np: 2,
    });
    const response = await request(stack.url)
      .get(`/jobs/${job.id}/events`)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      })
      .expect(200);
    const text = response.body as string;
    for (const rank of [0, 1]) for (const i of [0, 1, 2]) expect(text).toContain(`tick ${i} from ${rank}`);
    expect(text.trimEnd().split('\n\n').at(-1)).toContain('"status":"SUCCEEDED"');
  });
});
