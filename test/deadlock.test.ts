// Deadlocks and collective mismatches, found by the agents under `mpiaas exec` (one agent and
// agents apart); and what must never be taken for one, each held longer than the detection
// window (3 s).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, mpiaasExec } from './support/mpiaas-exec';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-deadlock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, lines: string[]): string {
  const file = path.join(dir, `${name}.py`);
  writeFileSync(file, ['from mpi4py import MPI', 'comm = MPI.COMM_WORLD', ...lines, ''].join('\n'));
  return file;
}

const DEADLOCK_BOUND_MS = 5000;
/** Starting node, the agent and the interpreters: the whole command takes this much more. */
const STARTUP_MS = 4000;

describe('deadlock detection', () => {
  it.each([1, 2])('two ranks receiving from each other (%i agent(s)): FAILED within 5 s, naming them', async (agents) => {
    const file = script(`mutual-${agents}`, ['comm.recv(source=1 - comm.rank)']);
    const run = await mpiaasExec(['-n', '2', '--agents', String(agents), file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('job FAILED: deadlock: ranks 0,1 wait in recv from each other');
    expect(run.elapsedMs).toBeLessThan(DEADLOCK_BOUND_MS + STARTUP_MS);
  });

  it('a ring where everyone receives first, over 2 agents', async () => {
    const file = script('ring', ['comm.recv(source=(comm.rank - 1) % comm.size)', 'comm.send(0, dest=(comm.rank + 1) % comm.size)']);
    const run = await mpiaasExec(['-n', '4', '--agents', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'deadlock: rank 0 waits in recv from rank 3; rank 1 waits in recv from rank 0; rank 2 waits in recv from rank 1; rank 3 waits in recv from rank 2',
    );
  });

  it('a receive from a rank that has finished', async () => {
    const file = script('finished', ['if comm.rank == 1:', '    comm.recv(source=0, tag=7)']);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('deadlock: rank 1 waits in recv from rank 0, which has finished (tag 7)');
  });

  it('a receive from a rank that has finished on another agent; where each rank was', async () => {
    const file = script('finished-apart', ['if comm.rank == 1:', '    comm.recv(source=0, tag=7)']);
    const run = await mpiaasExec(['-n', '4', '--agents', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('deadlock: rank 1 waits in recv from rank 0, which has finished (tag 7)');
    expect(run.stderr).toContain('where the ranks were: 3 ranks (0,2,3) finished; rank 1 at finished-apart.py:4 in recv');
  });

  it('a timeout names where each rank was: in MPI with its line, or running', async () => {
    const file = script('timeout', ['import time', 'if comm.rank == 0:', '    time.sleep(60)', 'comm.Barrier()']);
    const run = await mpiaasExec(['-n', '3', '--timeout', '2', file]);
    expect(run.code).toBe(124);
    expect(run.stderr).toContain('where the ranks were: rank 0 running; 2 ranks (1,2) at timeout.py:6 in Barrier');
  });

  /** Rank 0 receives from rank 1 in a second thread and in its main thread (`receive(tag)` a call); rank 1 receives from rank 0. */
  const threadsReceiving = (name: string, receive: (tag: number) => string): string =>
    script(name, [
      'import threading',
      'if comm.rank == 0:',
      `    t = threading.Thread(target=lambda: ${receive(1)})`,
      '    t.start()',
      `    ${receive(2)}`,
      'else:',
      '    comm.recv(source=0)',
    ]);

  it('two threads of a rank both blocked in Recv from a rank that receives from it', async () => {
    const file = threadsReceiving('threads', (tag) => `comm.Recv(bytearray(1), source=1, tag=${tag})`);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/job FAILED: deadlock: rank 0 waits in recv from rank 1 \(tag (1|2)\) and recv from rank 1 \(tag (1|2)\); rank 1 waits in recv from rank 0/);
  });

  it("a thread waiting for another's comm.recv (mpi4py's per-communicator lock) counts as blocked", async () => {
    const file = threadsReceiving('threads-locked', (tag) => `comm.recv(source=1, tag=${tag})`);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('job FAILED: deadlock: ranks 0,1 wait in recv from each other');
  });

  it('a deadlock on a Split sub-communicator, the others waiting in a Barrier', async () => {
    const file = script('split', [
      'sub = comm.Split(comm.rank % 2, comm.rank)',
      'if comm.rank < 2:',
      '    sub.recv(source=(sub.rank + 1) % sub.size)',
      'comm.Barrier()',
    ]);
    const run = await mpiaasExec(['-n', '4', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/deadlock: rank 0 waits in recv from rank 2; rank 1 waits in recv from rank 3; rank 2 waits in Barrier; rank 3 waits in Barrier/);
  });
});

describe('collective mismatch', () => {
  it.each([1, 2])('bcast on one rank, Barrier on the other (%i agent(s)): FAILED at once, naming each call', async (agents) => {
    const file = script(`mismatch-${agents}`, ['if comm.rank == 0:', '    comm.bcast(1, root=0)', 'else:', '    comm.Barrier()', 'comm.Barrier()']);
    const run = await mpiaasExec(['-n', agents === 1 ? '2' : '4', '--agents', String(agents), file]);
    expect(run.code).toBe(1);
    // Each rank's call as the script made it, and its line. Over two agents the agent of rank
    // 0 sees the mismatch with what has come when it looks: rank 2, its own, the bundle of
    // ranks 1 and 3, or both; each is named right.
    const others = agents === 1 ? 'rank 1 called Barrier at mismatch-1\\.py:6' : '(, rank [123] called Barrier at mismatch-2\\.py:6)+$';
    expect(run.stderr).toMatch(
      new RegExp(`collective mismatch on COMM_WORLD \\(collective #1\\): rank 0 called bcast \\(root 0\\) at mismatch-${agents}\\.py:4${agents === 1 ? ', ' : ''}${others}`, 'm'),
    );
    // At once: well before a deadlock could be declared.
    expect(run.elapsedMs).toBeLessThan(STARTUP_MS + 2000);
  });

  it('the same, with every collective through the agent (MPI4PY_SHM_COLLECTIVES=0)', async () => {
    const file = script('mismatch-agent', ['if comm.rank == 0:', '    comm.bcast(1, root=0)', 'else:', '    comm.Barrier()', 'comm.Barrier()']);
    const run = await mpiaasExec(['-n', '2', file], { env: { MPI4PY_SHM_COLLECTIVES: '0' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('collective mismatch on COMM_WORLD (collective #1): rank 0 called bcast (root 0) at mismatch-agent.py:4, rank 1 called Barrier at mismatch-agent.py:6');
    expect(run.elapsedMs).toBeLessThan(STARTUP_MS + 2000);
  });

  it('a rank waiting in a Barrier in shared memory while another is in a gather through the agent', async () => {
    // rank 1 waits in shared memory; rank 0 waits in its agent, for a gather rank 1 never joins
    const file = script('mismatch-waiting', ['if comm.rank == 0:', '    comm.gather(1, root=0)', 'else:', '    comm.Barrier()']);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('collective mismatch on COMM_WORLD (collective #1): rank 0 called gather (root 0) at mismatch-waiting.py:4, rank 1 called Barrier at mismatch-waiting.py:6');
    expect(run.elapsedMs).toBeLessThan(STARTUP_MS + 2000);
  });

  it('through the agent, numbered among all the collectives, those met in shared memory too', async () => {
    const file = script('mismatch-numbered', ['comm.Barrier()', 'comm.Barrier()', 'if comm.rank == 0:', '    comm.scatter([1, 2], root=0)', 'else:', '    comm.alltoall([1, 2])']);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('collective mismatch on COMM_WORLD (collective #3): rank 0 called scatter (root 0) at mismatch-numbered.py:6, rank 1 called alltoall at mismatch-numbered.py:8');
  });

  it('different roots', async () => {
    const file = script('roots', ['comm.bcast(comm.rank, root=comm.rank)']);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('collective mismatch on COMM_WORLD (collective #1): rank 0 called bcast (root 0) at roots.py:3, rank 1 called bcast (root 1) at roots.py:3');
  });
});

describe('collectives met in shared memory (the default on one agent): as diagnosed as through the agent', () => {

  it('ranks asleep in a Barrier there count as blocked: a deadlock, with where each rank was', async () => {
    const file = script('shm-deadlock', ['if comm.rank < 2:', '    comm.Barrier()', 'else:', '    comm.recv(source=5 - comm.rank)']);
    const run = await mpiaasExec(['-n', '4', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('job FAILED: deadlock: rank 0 waits in Barrier; rank 1 waits in Barrier; ranks 2,3 wait in recv from each other');
    expect(run.stderr).toContain('where the ranks were: 2 ranks (0,1) at shm-deadlock.py:4 in Barrier; 2 ranks (2,3) at shm-deadlock.py:6 in recv');
    expect(run.elapsedMs).toBeLessThan(DEADLOCK_BOUND_MS + STARTUP_MS);
  });

  it('Bcast on one rank, Barrier on the other: FAILED at once, naming each call', async () => {
    const file = script('shm-mismatch', ['import numpy as np', 'if comm.rank == 0:', '    comm.Bcast(np.zeros(2), root=0)', 'else:', '    comm.Barrier()']);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'job FAILED: collective mismatch on COMM_WORLD (collective #1): rank 0 called Bcast (root 0) at shm-mismatch.py:5, rank 1 called Barrier at shm-mismatch.py:7',
    );
    expect(run.elapsedMs).toBeLessThan(STARTUP_MS + 2000);
  });

  it('Gather with a root of its own on each rank, and Allgather against Scatter: FAILED at once', async () => {
    const roots = script('shm-gather-roots', ['import numpy as np', 'comm.Gather(np.zeros(2), np.zeros(4), root=comm.rank)']);
    const run = await mpiaasExec(['-n', '2', roots]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'job FAILED: collective mismatch on COMM_WORLD (collective #1): rank 0 called Gather (root 0) at shm-gather-roots.py:4, rank 1 called Gather (root 1) at shm-gather-roots.py:4',
    );
    const calls = script('shm-allgather-scatter', [
      'import numpy as np',
      'if comm.rank == 0:',
      '    comm.Allgather(np.zeros(1), np.zeros(2))',
      'else:',
      '    comm.Scatter(None, np.zeros(1), root=0)',
    ]);
    const other = await mpiaasExec(['-n', '2', calls]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(
      'job FAILED: collective mismatch on COMM_WORLD (collective #1): rank 0 called Allgather at shm-allgather-scatter.py:5, rank 1 called Scatter (root 0) at shm-allgather-scatter.py:7',
    );
  });

  it('a timeout names the ranks asleep there, with their line', async () => {
    const file = script('shm-timeout', ['import time', 'if comm.rank == 0:', '    time.sleep(60)', 'comm.Barrier()']);
    const run = await mpiaasExec(['-n', '3', '--timeout', '2', file]);
    expect(run.code).toBe(124);
    expect(run.stderr).toContain('where the ranks were: rank 0 running; 2 ranks (1,2) at shm-timeout.py:6 in Barrier');
  });
});

describe('never a deadlock', () => {
  it.each([
    ['a slow sender', ['import time', 'if comm.rank == 0:', '    time.sleep(5)', '    comm.send("late", dest=1)', 'else:', '    print(comm.recv(source=0))'], 'late\n'],
    [
      'a rank computing while the other waits',
      ['import time', 'if comm.rank == 0:', '    end = time.time() + 5', '    while time.time() < end: pass', '    comm.send("done", dest=1)', 'else:', '    print(comm.recv(source=0))'],
      'done\n',
    ],
    [
      'an Iprobe polling loop',
      [
        'import time',
        'if comm.rank == 0:',
        '    time.sleep(5)',
        '    comm.send("polled", dest=1)',
        'else:',
        '    while not comm.iprobe(source=0):',
        '        time.sleep(0.01)',
        '    print(comm.recv(source=0))',
      ],
      'polled\n',
    ],
    [
      'a Test polling loop',
      ['import time', 'if comm.rank == 0:', '    time.sleep(5)', '    comm.send("tested", dest=1)', 'else:', '    req = comm.irecv(source=0)', '    while True:', '        done, value = req.test()', '        if done: break', '        time.sleep(0.01)', '    print(value)'],
      'tested\n',
    ],
    [
      'a thread waiting in recv while the main thread works, then sends what the other waits for',
      ['import threading, time', 'if comm.rank == 0:', '    t = threading.Thread(target=lambda: print(comm.recv(source=1)))', '    t.start()', '    time.sleep(5)', '    comm.send("go", dest=1)', '    t.join()', 'else:', '    comm.send(comm.recv(source=0) + "ne", dest=0)'],
      'gone\n',
    ],
  ])('%s', async (_name, lines, out) => {
    const file = script(_name.replace(/\W+/g, '-'), lines);
    const run = await mpiaasExec(['-n', '2', file]);
    expect(run.stderr).not.toContain('deadlock');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(out);
  });

  it('a rank blocked reading stdin while the other waits for it', async () => {
    const file = script('stdin', ['import sys', 'if comm.rank == 0:', '    comm.send(sys.stdin.readline().strip(), dest=1)', 'else:', '    print(comm.recv(source=0))']);
    const child = spawn(process.execPath, [CLI, 'exec', '-n', '2', file], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    setTimeout(() => child.stdin.end('typed late\n'), 5000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('deadlock');
    expect(code).toBe(0);
    expect(stdout).toBe('typed late\n');
  });
});
