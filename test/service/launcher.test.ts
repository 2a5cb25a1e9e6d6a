// The layout of the Kubernetes and docker-compose deployments: the worker holds the
// credentials, the ranks start in another container (here: another user, another PID
// namespace, a memory cgroup of its own) through the rank launcher's Unix socket. Scripts
// as an attacker writes them go through POST /jobs.
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { fixture } from '../support/mpiaas-exec';
import { RanksContainer, ranksContainerUnsupported } from '../support/ranks-container';
import { ServiceStack } from '../support/service-stack';

const unsupported = ranksContainerUnsupported();
if (unsupported) console.warn(`rank launcher tests skipped: ${unsupported}`);

const CONTAINER_MEMORY = 600 * 1024 ** 2;

describe.skipIf(unsupported !== undefined)('ranks started in their own container by the rank launcher', () => {
  let ranks: RanksContainer;
  let stack: ServiceStack;

  beforeAll(async () => {
    ranks = await RanksContainer.start({ memoryBytes: CONTAINER_MEMORY });
    stack = await ServiceStack.start({
      workers: 1,
      workerEnv: { SLOTS: '4', JOB_FILES: '2000', JOB_DISK_BYTES: String(64 * 1024 ** 2), ...ranks.workerEnv() },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await ranks?.stop();
  });

  async function submit(script: string, np = 1): Promise<string> {
    return ((await request(stack.url).post('/jobs').send({ script, np, timeoutSeconds: 30 }).expect(201)).body as JobView).id;
  }

  async function finished(id: string): Promise<JobView> {
    const deadline = Date.now() + 45_000;
    for (;;) {
      const job = (await request(stack.url).get(`/jobs/${id}`).expect(200)).body as JobView;
      if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}\n${stack.logs()}\n${ranks.process.output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const stdout = async (id: string, rank = 0): Promise<string> => (await request(stack.url).get(`/jobs/${id}/ranks/${rank}/stdout`)).text;

  it('runs an MPI job there: collectives, per-rank output and exit codes as with local ranks', async () => {
    const id = await submit(
      [
        'import os',
        'from mpi4py import MPI',
        'comm = MPI.COMM_WORLD',
        'total = comm.allreduce(comm.rank + 1)',
        'print(f"rank {comm.rank} of {comm.size}: total {total} uid {os.getuid()}")',
      ].join('\n'),
      4,
    );
    const job = await finished(id);
    expect(job.status, `${job.reason ?? ''}\n${stack.logs()}`).toBe('SUCCEEDED');
    for (const rank of [0, 1, 2, 3]) expect(await stdout(id, rank)).toBe(`rank ${rank} of 4: total 10 uid ${ranks.uid}\n`);
  });

  it("passes its ranks' large bcasts and messages through files in the job's own /tmp", async () => {
    for (const script of ['shared_memory_bcast.py', 'shared_memory_messages.py']) {
      const job = await finished(await submit(readFileSync(fixture(script), 'utf8'), 4));
      expect(job.status, `${job.reason ?? ''}\n${job.stderrTail ?? ''}`).toBe('SUCCEEDED');
      expect(await stdout(job.id)).toMatch(/^through files\nleft: 0\nfolder: \/\S+\/\.tmp\n$/);
    }
  });

  it('reads no credential: not in its environment, not in any process it can see', async () => {
    const id = await submit(
      [
        'import os',
        'print("env", sorted(n for n in os.environ if "URL" in n or "PASSWORD" in n or "TOKEN" in n))',
        'leaks = []',
        'for p in os.listdir("/proc"):',
        '    if p.isdigit():',
        '        try:',
        '            data = open(f"/proc/{p}/environ", "rb").read() + open(f"/proc/{p}/cmdline", "rb").read()',
        '        except OSError:',
        '            continue',
        '        if b"DATABASE_URL" in data or b"REDIS_URL" in data or b"dist/main.js" in data:',
        '            leaks.append(p)',
        'print("leaks", leaks)',
      ].join('\n'),
    );
    const job = await finished(id);
    expect(job.status, job.reason ?? '').toBe('SUCCEEDED');
    expect(await stdout(id)).toBe('env []\nleaks []\n');
  });

  it('leaves nothing for the next job: no file, no /tmp file, no process', async () => {
    const first = await submit(
      [
        'import os, subprocess, tempfile',
        'open("secret.txt", "w").write("first job secret")',
        'open(os.path.join(tempfile.gettempdir(), "secret"), "w").write("first job secret")',
        'os.makedirs("locked/inner")',
        'open("locked/inner/data", "w").write("x")',
        'os.chmod("locked/inner", 0)',
        'os.chmod("locked", 0)',
        // A daemon that leaves the rank's process group.
        'subprocess.Popen(["/usr/bin/python3", "-c", "import time; time.sleep(600)"], start_new_session=True)',
        'print("planted", tempfile.gettempdir())',
      ].join('\n'),
    );
    const firstJob = await finished(first);
    expect(firstJob.status, firstJob.reason ?? '').toBe('SUCCEEDED');
    expect(await stdout(first)).toMatch(/^planted \//);
    const second = await submit(
      [
        'import os',
        'found = []',
        'for top in [os.path.dirname(os.getcwd()), os.path.dirname(os.path.dirname(os.getcwd()))]:',
        '    for base, dirs, files in os.walk(top):',
        '        found += [f for f in files if f in ("secret.txt", "secret")]',
        'others = [p for p in os.listdir("/proc") if p.isdigit() and p != "1" and int(p) != os.getpid()',
        '          and b"sleep(600)" in open(f"/proc/{p}/cmdline", "rb").read()]',
        'print("secrets", found, "daemons", others)',
      ].join('\n'),
    );
    const secondJob = await finished(second);
    expect(secondJob.status, secondJob.reason ?? '').toBe('SUCCEEDED');
    expect(await stdout(second)).toBe('secrets [] daemons []\n');
    // The worker's folder holds no job directory once its jobs have ended.
    const scratch = (await readdir(ranks.workDir)).filter((entry) => entry.startsWith('w-'));
    for (const dir of scratch) expect(await readdir(`${ranks.workDir}/${dir}`)).toEqual([]);
  });

  it('runs one job at a time in the ranks container, though the worker has free slots', async () => {
    const script = 'import time\nfrom mpi4py import MPI\nprint(time.time())\ntime.sleep(1.5)\nprint(time.time())';
    const [a, b] = await Promise.all([submit(script), submit(script)]);
    const [jobA, jobB] = await Promise.all([finished(a), finished(b)]);
    expect([jobA.status, jobB.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const [startA, endA] = (await stdout(a)).trim().split('\n').map(Number) as [number, number];
    const [startB, endB] = (await stdout(b)).trim().split('\n').map(Number) as [number, number];
    expect(startB >= endA || startA >= endB, `overlap: a ${startA}-${endA}, b ${startB}-${endB}`).toBe(true);
  });

  it('is bounded in memory by its container: two ranks of 400 MB fail naming the limit and the rank', async () => {
    const id = await submit(['import numpy, time', 'block = numpy.ones(400 * 1024**2, dtype=numpy.uint8)', 'time.sleep(3)', 'print("held", block.sum())'].join('\n'), 2);
    const job = await finished(id);
    expect(job.status).toBe('FAILED');
    expect(job.reason).toMatch(
      new RegExp(`^memory limit exceeded: the job's ranks on worker worker\\d+ needed more than ${CONTAINER_MEMORY} bytes \\(the memory limit of the ranks' container\\); rank \\d was killed$`),
    );
    // The launcher survives its container's OOM and takes the next job.
    const next = await finished(await submit('print("after")'));
    expect(next.status, next.reason ?? '').toBe('SUCCEEDED');
  });

  it('is bounded in disk: files counted by the launcher, also in a folder the script locked', async () => {
    const id = await submit(
      ['import itertools, os', 'os.mkdir("hidden")', 'for i in itertools.count():', '    open(f"hidden/f{i}", "w").close()', '    if i == 100:', '        os.chmod("hidden", 0o300)'].join('\n'),
    );
    const job = await finished(id);
    expect(job.status).toBe('FAILED');
    expect(job.reason).toMatch(/^disk limit exceeded: the job's directory holds more than 2000 files \(JOB_FILES\) on worker worker\d+$/);
    // Found within a couple of checks, and the folder removed at once (the launcher owns its files).
    expect(Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')).toBeLessThan(10_000);
    expect(stack.logs()).not.toMatch(/cannot remove/);
  });
});
