import { spawn } from 'node:child_process';
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

/** Runs the real `mpiaas` CLI as a process against the stack (or `url`). */
function mpiaas(args: string[], url = stack.url): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, MPIAAS_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
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
    expect(tooMany.stderr).toMatch(/^mpiaas: 400 Bad Request: .*np must not be greater than 64.*\n$/);

    const unknown = await mpiaas(['status', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^mpiaas: 404 Not Found: .*\n$/);

    const missing = await mpiaas(['run', '-n', '1', 'no-such-script.py']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('mpiaas: cannot read script no-such-script.py: no such file\n');
    for (const result of [down, tooMany, unknown, missing]) expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
