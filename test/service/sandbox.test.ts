// Scripts as an attacker writes them, through POST /jobs, each beside a canary job that must
// finish untouched. The worker confines ranks with bubblewrap (or, forking them from its warm
// pool, as bubblewrap would): its own root (/usr and /etc read-only, the job's directory at
// /job, a private /tmp), its own PIDs, no network.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '@mpiaas/contracts';
import { JobCgroup } from '../../apps/worker/src/runs/job-cgroup';
import { systemCommand } from '../../apps/worker/src/runs/rank-sandbox';
import { fixture, REPO_ROOT } from '../support/mpiaas-exec';
import { ServiceStack } from '../support/service-stack';

const unsupported =
  process.getuid?.() !== 0 ? 'needs a root worker (ranks under their own user ids)' : systemCommand('bwrap') ? undefined : 'bubblewrap is not installed';
if (unsupported) console.warn(`sandbox tests skipped: ${unsupported}`);

// Every guarantee holds whether ranks are forked from the warm pool's zygote or start as
// fresh processes through bubblewrap.
describe.skipIf(unsupported !== undefined).each(['auto', 'off'])('a script trying to get out of its sandbox (RANK_WARM_POOL=%s)', (pool) => {
  let stack: ServiceStack;

  beforeAll(async () => {
    stack = await ServiceStack.start({
      workers: 1,
      workerEnv: {
        RANK_WARM_POOL: pool,
        SLOTS: '6',
        RANK_SANDBOX: 'bwrap',
        JOB_MEMORY_BYTES: String(1024 ** 3),
        JOB_PROCESSES: '64',
        JOB_DISK_BYTES: String(64 * 1024 ** 2),
        JOB_FILES: '2000',
        JOB_CPU_SECONDS: '6',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const cgroups = JobCgroup.available('/sys/fs/cgroup');

  async function submit(script: string, np = 1): Promise<string> {
    return ((await request(stack.url).post('/jobs').send({ script, np, timeoutSeconds: 30 }).expect(201)).body as JobView).id;
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

  const stdout = async (id: string): Promise<string> => (await request(stack.url).get(`/jobs/${id}/ranks/0/stdout`)).text;

  /** A job that keeps a secret in its directory and its /tmp, and must end untouched. */
  const CANARY = [
    'import os, time',
    'open("secret.txt", "w").write("canary secret")',
    'open("/tmp/canary-secret", "w").write("canary secret")',
    'time.sleep(3)',
    'assert open("secret.txt").read() == "canary secret"',
    'assert open("/tmp/canary-secret").read() == "canary secret"',
    'print("canary ok")',
  ].join('\n');

  /** Runs `attack` while a canary runs; returns the attacker's stdout after both ended. */
  async function beside(attack: string, np = 1): Promise<{ out: string; attacker: JobView }> {
    const canary = await submit(CANARY);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const id = await submit(attack, np);
    const [attacker, canaryJob] = await Promise.all([finished(id), finished(canary)]);
    expect(canaryJob.status, `canary: ${canaryJob.reason ?? ''}`).toBe('SUCCEEDED');
    expect(await stdout(canary)).toBe('canary ok\n');
    return { out: await stdout(id), attacker };
  }

  it(`starts ${pool === 'auto' ? 'forked from the warm pool (numpy imported)' : 'as a fresh interpreter'}`, async () => {
    const { out } = await beside('import sys\nprint("numpy imported", "numpy" in sys.modules)');
    expect(out).toBe(`numpy imported ${pool === 'auto' ? 'True' : 'False'}\n`);
  });

  // The zygote imported mpi4py before it knew the job: the release is read when asked.
  it('answers as the mpi4py release its job names in MPIAAS_MPI4PY, 3.1.4 by default', async () => {
    const script =
      'import sys\nwarm = "numpy" in sys.modules\nimport mpi4py\nfrom mpi4py import MPI\n' +
      'print(warm, mpi4py.__version__, len(MPI.INT.Create_vector(2, 1, 3).Get_envelope()))';
    const post = async (env?: Record<string, string>) =>
      ((await request(stack.url).post('/jobs').send({ script, np: 1, ...(env ? { env } : {}) }).expect(201)).body as JobView).id;
    const [asDefault, as4] = [await post(), await post({ MPIAAS_MPI4PY: '4' })];
    const warm = pool === 'auto' ? 'True' : 'False';
    for (const [id, expected] of [
      [asDefault, `${warm} 3.1.4 4`],
      [as4, `${warm} 4.1.2 5`],
    ] as const) {
      expect((await finished(id)).status).toBe('SUCCEEDED');
      expect(await stdout(id)).toBe(`${expected}\n`);
    }
  });

  // A fresh rank inherits what the worker's own parent left open (and not marked close-on-exec).
  it.runIf(pool === 'auto')('holds no file descriptor but its stdio and its channel to the agent', async () => {
    const { out } = await beside('import os\nprint(sorted(int(fd) for fd in os.listdir("/proc/self/fd")))');
    expect(out).toBe('[0, 1, 2, 3, 4]\n'); // 4: the listing's own
  });

  it("finds nothing of another job in its own memory (the zygote's it was forked from)", async () => {
    const [secret, control] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    const canary = ((await request(stack.url).post('/jobs').send({ script: 'import time\ntime.sleep(3)', np: 1, env: { CANARY_SECRET: secret } }).expect(201))
      .body as JobView).id;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Both needles are slices of one object: its copies count for both alike; only a leak
    // of the other job's variable counts for its secret alone.
    const id = await submit(
      [
        `pair = ${JSON.stringify(secret + control)}.encode()`,
        'needles = [memoryview(pair)[:32], memoryview(pair)[32:]]',
        'found = [0, 0]',
        'with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:',
        '    for line in maps.readlines():',
        '        span, perms = line.split()[:2]',
        '        start, end = (int(x, 16) for x in span.split("-"))',
        '        if "r" not in perms or end - start > 1 << 30:',
        '            continue',
        '        try:',
        '            mem.seek(start)',
        '            data = mem.read(end - start)',
        '        except (OSError, ValueError, OverflowError):',
        '            continue',
        '        for i, needle in enumerate(needles):',
        '            found[i] += data.count(needle)',
        '        del data',
        'print("other job\'s variable in memory", found[0] > found[1])',
      ].join('\n'),
    );
    const [attacker, canaryJob] = await Promise.all([finished(id), finished(canary)]);
    expect(canaryJob.status).toBe('SUCCEEDED');
    expect(attacker.status, attacker.stderrTail ?? '').toBe('SUCCEEDED');
    expect(await stdout(id)).toBe("other job's variable in memory False\n");
  });

  it('sees only its own directory, a private /tmp and the system read-only', async () => {
    const { out } = await beside(
      [
        'import os',
        'print("root", sorted(os.listdir("/")))',
        'print("cwd", os.getcwd(), sorted(os.listdir(".")))',
        'print("tmp", os.listdir("/tmp"))',
        `print("checkout", os.path.exists(${JSON.stringify(path.join(REPO_ROOT, 'package.json'))}))`,
        'print("work dirs", os.path.exists("/tmp/mpiaas-work"))',
        'for target in ["/usr/evil", "/etc/evil"]:',
        '    try:',
        '        open(target, "w")',
        '        print("wrote", target)',
        '    except OSError as error:',
        '        print("refused", target, type(error).__name__)',
      ].join('\n'),
    );
    expect(out).toContain("root ['bin', 'dev', 'etc', 'job', 'lib', 'lib64', 'opt', 'proc', 'sbin', 'tmp', 'usr']");
    // output/ holds MPIAAS_OUTPUT, the files kept after the job (docs/outputs.md).
    expect(out).toContain("cwd /job ['.tmp', 'output', 'script.py']");
    expect(out).toContain('tmp []');
    expect(out).toContain('checkout False');
    expect(out).toContain('work dirs False');
    expect(out).toMatch(/refused \/usr\/evil (PermissionError|OSError)/);
    expect(out).toMatch(/refused \/etc\/evil (PermissionError|OSError)/);
  });

  it("passes its ranks' large bcasts and messages through files in its own /tmp, gone once read", async () => {
    for (const script of ['shared_memory_bcast.py', 'shared_memory_messages.py']) {
      const { out, attacker } = await beside(readFileSync(fixture(script), 'utf8'), 4);
      expect(attacker.status, attacker.stderrTail ?? '').toBe('SUCCEEDED');
      expect(out).toBe('through files\nleft: 0\nfolder: /tmp\n');
    }
  });

  it('runs its ranks under SCHED_BATCH inside the sandbox', async () => {
    const id = await submit(readFileSync(fixture('sched_policy.py'), 'utf8'), 2);
    const job = await finished(id);
    expect(job.status, job.stderrTail ?? '').toBe('SUCCEEDED');
    expect(await stdout(id)).toBe('SCHED_BATCH SCHED_BATCH\n');
  });

  it('sees and signals only its own processes, and reads no credential from any of them', async () => {
    const { out } = await beside(
      [
        'import os, signal',
        'pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())',
        'print("pids", len(pids) <= 3)',
        'leaks = [p for p in pids if b"DATABASE_URL" in open(f"/proc/{p}/environ", "rb").read()]',
        'print("credentials", leaks)',
        'try:',
        '    os.kill(-1, signal.SIGKILL)',
        'except OSError:',
        '    pass',
      ].join('\n'),
    );
    expect(out).toContain('pids True');
    expect(out).toContain('credentials []');
    // kill(-1) reached no process outside the job: the canary (checked by beside) lives on.
  });

  it('reaches no network: not Redis, not Postgres, not the outside', async () => {
    const { out } = await beside(
      [
        'import socket',
        'for host, port in [("127.0.0.1", 6379), ("127.0.0.1", 5432), ("1.1.1.1", 53)]:',
        '    s = socket.socket()',
        '    s.settimeout(2)',
        '    try:',
        '        print(host, port, "reachable" if s.connect_ex((host, port)) == 0 else "unreachable")',
        '    except OSError:',
        '        print(host, port, "unreachable")',
      ].join('\n'),
    );
    expect(out).toBe('127.0.0.1 6379 unreachable\n127.0.0.1 5432 unreachable\n1.1.1.1 53 unreachable\n');
  });

  it.skipIf(!cgroups)('is bounded in memory as a job: four ranks of 400 MB go over a 1 GiB job limit', async () => {
    const { attacker } = await beside(
      ['import numpy, time', 'block = numpy.ones(400 * 1024**2, dtype=numpy.uint8)', 'time.sleep(2)', 'print("held", block.sum())'].join('\n'),
      4,
    );
    expect(attacker.status).toBe('FAILED');
    expect(attacker.reason).toMatch(
      /^memory limit exceeded: the job's ranks on worker worker\d+ needed more than 1073741824 bytes \(JOB_MEMORY_BYTES\); rank \d was killed$/,
    );
  });

  it.skipIf(!cgroups)('is bounded in processes as a job: a fork bomb stops at the limit', async () => {
    const { out, attacker } = await beside(
      [
        'import os, time',
        'children = 0',
        'try:',
        '    while True:',
        '        if os.fork() == 0:',
        '            time.sleep(30)',
        '            os._exit(0)',
        '        children += 1',
        'except OSError as error:',
        '    print("fork refused after", children, type(error).__name__, flush=True)',
        '    raise SystemExit(3)',
      ].join('\n'),
    );
    expect(out).toMatch(/^fork refused after \d+ BlockingIOError\n$/);
    expect(Number(/after (\d+)/.exec(out)?.[1])).toBeLessThan(64);
    expect(attacker.status).toBe('FAILED');
    expect(attacker.reason).toMatch(/^process limit exceeded: the job's ranks on worker worker\d+ reached 64 processes and threads \(JOB_PROCESSES\); rank 0 failed$/);
  });

  it('is bounded in disk as a job: bytes in its directory and /tmp, and files', async () => {
    const filler = await beside(
      ['import time', 'with open("/tmp/fill", "wb") as f:', '    while True:', '        f.write(b"x" * 1024**2)', '        f.flush()', '        time.sleep(0.005)'].join('\n'),
    );
    expect(filler.attacker.status).toBe('FAILED');
    expect(filler.attacker.reason).toMatch(/^disk limit exceeded: the job's directory holds \d+ bytes, more than 67108864 \(JOB_DISK_BYTES\) on worker worker\d+$/);
    const many = await beside(['import itertools', 'for i in itertools.count():', '    open(f"f{i}", "w").close()'].join('\n'));
    expect(many.attacker.status).toBe('FAILED');
    expect(many.attacker.reason).toMatch(/^disk limit exceeded: the job's directory holds more than 2000 files \(JOB_FILES\) on worker worker\d+$/);
  });

  it.skipIf(!cgroups)('is bounded in CPU seconds as a job', async () => {
    const { attacker } = await beside('while True:\n    pass\n');
    expect(attacker.status).toBe('FAILED');
    expect(attacker.reason).toMatch(/^CPU limit exceeded: the job's ranks used [\d.]+ s of CPU, more than 6 s \(JOB_CPU_SECONDS\) on worker worker\d+$/);
  });

  it('cannot raise its own limits back up', async () => {
    const { out } = await beside(
      [
        'import resource',
        'for name in ["RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE"]:',
        '    which = getattr(resource, name)',
        '    soft, hard = resource.getrlimit(which)',
        '    try:',
        '        resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))',
        '        print(name, "raised")',
        '    except (ValueError, OSError):',
        '        print(name, "refused", hard != resource.RLIM_INFINITY)',
      ].join('\n'),
    );
    expect(out).toBe('RLIMIT_AS refused True\nRLIMIT_FSIZE refused True\nRLIMIT_NOFILE refused True\n');
  });

  it('cannot follow a link out of its directory to the host', async () => {
    const { out } = await beside(
      [
        'import os',
        `os.symlink(${JSON.stringify(REPO_ROOT)}, "checkout")`,
        'os.symlink("/etc/shadow", "shadow")',
        'print("checkout", os.path.exists("checkout/package.json"))',
        'try:',
        '    open("shadow").read()',
        '    print("shadow read")',
        'except OSError as error:',
        '    print("shadow", type(error).__name__)',
        'try:',
        '    os.link("/etc/passwd", "passwd")',
        '    print("hard link made")',
        'except OSError as error:',
        '    print("hard link", type(error).__name__)',
      ].join('\n'),
    );
    expect(out).toContain('checkout False');
    expect(out).toContain('shadow PermissionError');
    expect(out).not.toContain('hard link made');
  });
});
