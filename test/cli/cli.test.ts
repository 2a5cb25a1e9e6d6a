import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../support/mpiaas-exec';
import { freePort, ServiceStack } from '../support/service-stack';

let stack: ServiceStack;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `mpiaas` CLI process; `result` resolves when it exits. */
interface CliRun {
  child: ChildProcess;
  /** Resolves once the output so far contains `text`. */
  printed(text: string): Promise<void>;
  result: Promise<CliResult>;
}

/** Starts the real `mpiaas` CLI as a process against the stack (or `url`). */
function startMpiaas(args: string[], url = stack.url): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, MPIAAS_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onOutput = (): void => {
    for (const waiter of [...waiters]) {
      if (stdout.includes(waiter.text) || stderr.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onOutput();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    onOutput();
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child,
    result,
    printed: (text) =>
      new Promise((resolve) => {
        waiters.push({ text, resolve });
        onOutput();
      }),
  };
}

function mpiaas(args: string[], url = stack.url): Promise<CliResult> {
  return startMpiaas(args, url).result;
}

function script(name: string, text: string): string {
  const file = path.join(tmpdir(), `mpiaas-cli-${process.pid}-${name}`);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  stack = await ServiceStack.start({ workers: 1, workerEnv: { SLOTS: '8', LOG_FLUSH_MS: '50' } });
});

afterAll(async () => {
  await stack?.stop();
});

describe('mpiaas CLI against the real service', () => {
  it('run: streams every rank’s output and exits 0', async () => {
    const result = await mpiaas(['run', '-n', '3', '--tag-output', 'examples/hello.py']);
    expect(result.code, result.stderr).toBe(0);
    for (const rank of [0, 1, 2]) {
      expect(result.stdout).toContain(`[1,${rank}]<stdout>:Hello! I'm rank ${rank} from 3 running in total...`);
    }
    expect(result.stderr).toMatch(/job [0-9a-f-]+ SUCCEEDED in \d+\.\d+s/);
  });

  it('run: exits with the failing rank’s code and names it', async () => {
    const failing = script('fail.py', 'from mpi4py import MPI\nimport sys\nif MPI.COMM_WORLD.rank == 1:\n    sys.exit(7)\nMPI.COMM_WORLD.Barrier()\n');
    const result = await mpiaas(['run', '-n', '2', failing]);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/FAILED in [\d.]+s: rank 1 exited with code 7/);
  });

  it('run --detach, then status --wait exits with the job’s code', async () => {
    const detached = await mpiaas(['run', '-n', '2', '--detach', '--name', 'waited', 'examples/pi.py']);
    expect(detached.code).toBe(0);
    const id = detached.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const status = await mpiaas(['status', id, '--wait']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('status:    SUCCEEDED');
    expect(status.stdout).toContain('name:      waited');
    expect(status.stdout).toMatch(/rank 1: {4}exit 0 on worker\d+,/);
  });

  it('run --futures: rank 0 runs the script, the others serve its MPIPoolExecutor; status says so', async () => {
    const pool = script(
      'pool.py',
      'from mpi4py import MPI\nfrom mpi4py.futures import MPIPoolExecutor\n\ndef where(x):\n    return x, MPI.COMM_WORLD.rank\n\n' +
        "if __name__ == '__main__':\n    with MPIPoolExecutor() as pool:\n        print(sorted(pool.map(where, [0, 1])))\n",
    );
    const result = await mpiaas(['run', '-n', '2', '--futures', '--detach', pool]);
    expect(result.code, result.stderr).toBe(0);
    const id = result.stdout.trim();
    const status = await mpiaas(['status', id, '--wait']);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain('np:        2 (placement pack, launcher futures)');
    const logs = await mpiaas(['logs', id]);
    expect(logs.stdout).toBe('[(0, 1), (1, 1)]\n');
  });

  it('status shows why a job waits: larger than the cluster without --oversubscribe', async () => {
    const submitted = await mpiaas(['submit', '-n', '9', '--placement', 'spread', 'examples/hello.py']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    const deadline = Date.now() + 10_000;
    let status = await mpiaas(['status', id]);
    while (!status.stdout.includes('waiting:   needs') && Date.now() < deadline) status = await mpiaas(['status', id]);
    expect(status.stdout).toContain('np:        9 (placement spread)');
    expect(status.stdout).toContain('waiting:   needs 9 slots; all live workers together have 8 (set oversubscribe to run anyway) (needs 9 slots, 8 free)');
    await mpiaas(['cancel', id]);
    const over = await mpiaas(['run', '-n', '9', '--oversubscribe', 'examples/hello.py']);
    expect(over.code, over.stderr).toBe(0);
  });

  it('logs --follow prints a job’s lines as they come, each once', async () => {
    const ticking = script('tick.py', 'import time\nfor i in range(10):\n    print(f"tick {i}", flush=True)\n    time.sleep(0.3)\n');
    const id = (await mpiaas(['submit', '-n', '1', ticking])).stdout.trim();
    const followed = await mpiaas(['logs', id, '--follow']);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe(Array.from({ length: 10 }, (_, i) => `tick ${i}\n`).join(''));
    const stored = await mpiaas(['logs', id, '--rank', '0', '--stream', 'stdout']);
    expect(stored.stdout).toBe(followed.stdout);
  });

  it('logs --follow survives the server going away mid-job: no line lost, none repeated', async () => {
    const ticking = script('tick-long.py', 'import time\nfor i in range(20):\n    print(f"line {i}", flush=True)\n    time.sleep(0.2)\n');
    const id = (await mpiaas(['submit', '-n', '1', ticking])).stdout.trim();
    const follow = startMpiaas(['logs', id, '--follow']);
    await follow.printed('line 3\n');
    await stack.restartApi();
    const result = await follow.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(''));
  });

  it('run: Ctrl-C cancels the job, says so, and exits 130', async () => {
    const sleeper = script('interrupted.py', 'import time\nprint("up", flush=True)\ntime.sleep(60)\n');
    const run = startMpiaas(['run', '-n', '2', sleeper]);
    await run.printed('up\n');
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/mpiaas: cancelling job [0-9a-f-]+/);
    expect(result.stderr).toMatch(/CANCELLED in [\d.]+s: cancelled by user/);
  });

  it('cancel stops a running job; list shows it', async () => {
    const sleeper = script('sleep.py', 'import time\nprint("up", flush=True)\ntime.sleep(60)\n');
    const id = (await mpiaas(['submit', '-n', '1', '--name', 'sleeper', sleeper])).stdout.trim();
    for (;;) {
      const status = await mpiaas(['status', id, '--json']);
      if ((JSON.parse(status.stdout) as { status: string }).status === 'RUNNING') break;
    }
    const cancelled = await mpiaas(['cancel', id]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`job ${id}`);
    const waited = await mpiaas(['status', id, '--wait']);
    expect(waited.code).toBe(130);
    const listed = await mpiaas(['list', '--status', 'cancelled', '--limit', '5']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('sleeper');
  });

  it('says what is wrong in one line: server down, bad request, unknown job, missing file', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const down = await mpiaas(['list'], nobody);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`mpiaas: cannot reach the mpiaas server at ${nobody}: ECONNREFUSED\n`);

    const tooMany = await mpiaas(['submit', '-n', '100000', 'examples/hello.py']);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/^mpiaas: 400 Bad Request: .*np must not be greater than 1024.*\n$/);

    const unknown = await mpiaas(['status', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^mpiaas: 404 Not Found: .*\n$/);

    const missing = await mpiaas(['run', '-n', '1', 'no-such-script.py']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('mpiaas: cannot read script no-such-script.py: no such file\n');
    for (const result of [down, tooMany, unknown, missing]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
