import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, REPO_ROOT, fixture, keysUnder, mpiaasExec } from './support/mpiaas-exec';

/** mpirun's rule: once one rank fails, every other rank is gone within 2 seconds. */
const KILL_WINDOW_MS = 2000;

describe('mpiaas exec: failure semantics like mpirun', () => {
  it('fails the job when a rank raises, naming the rank, and kills the others', async () => {
    const run = await mpiaasExec(['-n', '4', fixture('raise_on_rank1.py')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ValueError: rank 1 gives up');
    expect(run.stderr).toMatch(/job FAILED: rank 1 exited with code 1/);
    expect(run.elapsedMs).toBeLessThan(10_000);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it('with agents apart (--agents 2), a rank failing on one agent ends the ranks of the other at once', async () => {
    // Rank 1 runs on agent 1; ranks 0, 2 (agent 0) and 3 (agent 1) wait for its message.
    const run = await mpiaasExec(['-n', '4', '--agents', '2', fixture('raise_on_rank1.py')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/job FAILED: rank 1 exited with code 1/);
    expect(run.elapsedMs).toBeLessThan(10_000);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it('with agents apart, a job that fails half-way leaves none of its collectives or large messages in Redis', async () => {
    // Rank 0 stored a large message for rank 1 and a large broadcast bundle; neither is read.
    const run = await mpiaasExec(['-n', '3', '--agents', '3', fixture('fail_midway_across_agents.py')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/job FAILED: rank 1 exited with code 1/);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it('with agents apart, Abort on one agent ends the job everywhere with its code', async () => {
    const run = await mpiaasExec(['-n', '3', '--agents', '3', fixture('abort.py')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/rank 0 called MPI_Abort with code 3/);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it('with agents apart, --timeout stops every agent’s ranks', async () => {
    const run = await mpiaasExec(['-n', '4', '--agents', '2', '--timeout', '1', fixture('sleep_forever.py')]);
    expect(run.code).toBe(124);
    expect(run.elapsedMs).toBeLessThan(1000 + KILL_WINDOW_MS + 3000);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it('ends the job with the code given to Abort', async () => {
    const run = await mpiaasExec(['-n', '3', fixture('abort.py')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/rank 0 called MPI_Abort with code 3/);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it('kills every rank at --timeout and exits 124', async () => {
    const run = await mpiaasExec(['-n', '2', '--timeout', '1', fixture('sleep_forever.py')]);
    expect(run.code).toBe(124);
    expect(run.stdout).toContain('rank 0 started');
    expect(run.stderr).toMatch(/TIMED_OUT: time limit of 1s exceeded/);
    expect(run.elapsedMs).toBeLessThan(1000 + KILL_WINDOW_MS + 3000);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  // np 3: each rank an interpreter of its own; np 4: forked from one (FORK_FROM_RANKS)
  it.each([3, 4])('reports a rank killed by a signal as 128 + signal (np %i)', async (np) => {
    const run = await mpiaasExec(['-n', String(np), fixture('killed_rank.py')]);
    expect(run.code).toBe(137);
    expect(run.stderr).toMatch(/rank 2 was killed by signal SIGKILL/);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it('fails the job when a rank exits without MPI_Finalize while others wait for it', async () => {
    const run = await mpiaasExec(['-n', '2', fixture('exit_without_finalize.py')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/job FAILED: rank 1 exited without calling MPI_Finalize/);
    expect(run.elapsedMs).toBeLessThan(10_000);
  });

  it('fails the job, not the agent, when a rank writes garbage on its channel', async () => {
    const run = await mpiaasExec(['-n', '2', fixture('malformed_request.py')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/job FAILED: rank 1: malformed request/);
    expect(run.elapsedMs).toBeLessThan(10_000);
    expect(await keysUnder(run.prefix)).toEqual([]);
  });

  it("exits with a rank's own non-zero status", async () => {
    const run = await mpiaasExec(['-n', '2', fixture('exit_code.py')]);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/rank 0 exited with code 5/);
  });
});

describe('mpiaas exec: what a rank sees', () => {
  it.each([3, 4])('forwards stdin to rank 0 (input() works) (np %i)', async (np) => {
    const run = await mpiaasExec(['-n', String(np), fixture('stdin_bcast.py')], { stdin: '42\n' });
    expect(run.code).toBe(0);
    for (let rank = 0; rank < np; rank++) expect(run.stdout).toContain(`rank ${rank} got 42`);
  });

  it.each([3, 4])('never passes Redis or database credentials to ranks, but passes the job its variables (np %i)', async (np) => {
    const run = await mpiaasExec(['-n', String(np), fixture('environment.py')], {
      env: { REDIS_URL: 'redis://secret', DATABASE_URL: 'postgres://secret', PGPASSWORD: 'x', JOB_VAR: 'visible' },
    });
    expect(run.code).toBe(0);
    for (let rank = 0; rank < np; rank++) {
      expect(run.stdout).toContain(`rank ${rank} OMPI_COMM_WORLD_RANK=${rank} secrets=[]`);
      expect(run.stdout).toContain(`rank ${rank} JOB_VAR=visible`);
    }
  });

  it.each([3, 4])('holds only its stdio and its agent channel: descriptors its launcher inherited without close-on-exec are closed (np %i)', async (np) => {
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      // fd 200 open on a host file without close-on-exec: the CLI, and so its ranks, inherit it
      const launcher = 'import os, sys; os.dup2(os.open("/etc/hostname", os.O_RDONLY), 200); os.execv(sys.argv[1], sys.argv[1:])';
      const shell = spawn('python3', ['-c', launcher, process.execPath, CLI, 'exec', '-n', String(np), fixture('open_fds.py')], {
        cwd: REPO_ROOT,
        env: { ...process.env, MPIAAS_REDIS_PREFIX: `test:exec:${randomUUID()}:` },
      });
      let stdout = '';
      shell.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      shell.on('close', (code) => resolve({ code, stdout }));
    });
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(Array.from({ length: np }, (_, rank) => `rank ${rank} fds [0, 1, 2, 3]`));
  });

  it('forks 4 ranks or more from one interpreter (MPIAAS_FORK_RANKS=0: never, 1: at any np), each rank in its own session', async () => {
    for (const [np, env, parent] of [
      [4, {}, 'forker'],
      [4, { MPIAAS_FORK_RANKS: '0' }, 'launcher'],
      [3, {}, 'launcher'],
      [1, { MPIAAS_FORK_RANKS: '1' }, 'forker'],
    ] as const) {
      const run = await mpiaasExec(['-n', String(np), fixture('rank_parent.py')], { env });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const lines = run.stdout.split('\n').filter((line) => line.startsWith('rank ')).sort();
      // the forker leads a session of its own too: a signal to the launcher's group is the launcher's alone
      const forkerSession = parent === 'forker' ? ' (a session of its own)' : '';
      expect(lines).toEqual(Array.from({ length: np }, (_, rank) => `rank ${rank} parent ${parent}${forkerSession} own session True`));
      expect(run.stdout).toContain(`script folder first on sys.path True`);
    }
  });

  it('imports numpy once for forked ranks of a script that names it, each rank with a random state of its own', async () => {
    for (const [np, preloaded] of [
      [4, 'True'],
      [3, 'False'],
    ] as const) {
      const run = await mpiaasExec(['-n', String(np), fixture('numpy_preloaded.py')]);
      expect(run.stderr).toBe('');
      const lines = run.stdout.split('\n').filter(Boolean).map((line) => line.split(' '));
      expect(lines.map(([rank, seen]) => `${rank} ${seen}`).sort()).toEqual(Array.from({ length: np }, (_, rank) => `${rank} ${preloaded}`));
      expect(new Set(lines.map(([, , drawn]) => drawn)).size).toBe(np);
    }
  });

  it('answers as the mpi4py release asked for (--mpi4py, or MPIAAS_MPI4PY inherited), forked or not; 3.1.4 by default', async () => {
    const line = (rank: number, release: string) =>
      release === '3.1.4' ? `rank ${rank} mpi4py 3.1.4 envelope 4 contents 3 warnings 0` : `rank ${rank} mpi4py 4.1.2 envelope 5 contents 4 warnings 1`;
    for (const [np, args, env, release] of [
      [4, [], {}, '3.1.4'],
      [4, ['--mpi4py', '4'], {}, '4.1.2'],
      [3, ['--mpi4py', '4.1'], {}, '4.1.2'],
      [3, [], { MPIAAS_MPI4PY: '4.0' }, '4.1.2'],
      [4, ['--mpi4py', '3.1'], { MPIAAS_MPI4PY: '4' }, '3.1.4'],
    ] as const) {
      const run = await mpiaasExec(['-n', String(np), ...args, fixture('mpi4py_release.py')], { env });
      // nothing on stderr: not even the ResourceWarning for the agent's socket that CPython
      // printed at exit once a script's catch_warnings had caught a warning
      expect(run.stderr).toBe('');
      const lines = run.stdout.split('\n').filter(Boolean).sort();
      expect(lines).toEqual(Array.from({ length: np }, (_, rank) => line(rank, release)));
    }
    const refused = await mpiaasExec(['-n', '1', '--mpi4py', '5', fixture('mpi4py_release.py')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("option '--mpi4py <release>' argument '5' is invalid");
    const unknown = await mpiaasExec(['-n', '1', fixture('mpi4py_release.py')], { env: { MPIAAS_MPI4PY: 'latest' } });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("RuntimeError: mpiaas: MPIAAS_MPI4PY='latest'");
  });

  it('ends quietly with a daemon thread still in an MPI call, forked or not', async () => {
    for (const np of ['3', '4']) {
      const run = await mpiaasExec(['-n', np, fixture('daemon_thread_in_recv.py')]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(Array.from({ length: Number(np) }, (_, rank) => `rank ${rank} done`));
    }
  });

  it("runs COMM_SELF's attribute delete callbacks at Finalize, while MPI still works (a library's clean-up hook)", async () => {
    for (const np of [3, 4]) {
      const run = await mpiaasExec(['-n', String(np), fixture('self_cleanup_hook.py')]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const expected = Array.from({ length: np }, (_, rank) => [`rank ${rank} cleanup hook, ${np} ranks`, `rank ${rank} done`]).flat();
      expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(expected.sort());
    }
  });

  it('says clearly when the interpreter cannot be started, forking or not', async () => {
    for (const np of ['3', '4']) {
      const run = await mpiaasExec(['-n', np, '--python', '/nonexistent/python3', fixture('rank_parent.py')]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/cannot start \/nonexistent\/python3/);
    }
  });

  it('prefixes lines like mpirun --tag-output', async () => {
    const run = await mpiaasExec(['-n', '2', '--tag-output', fixture('environment.py')]);
    expect(run.stdout).toContain('[1,1]<stdout>:rank 1 JOB_VAR=None');
  });

  it('gives the ranks sys.argv as typed, the script path not made absolute (as mpirun)', async () => {
    const run = await mpiaasExec(['-n', '2', 'test/fixtures/argv.py', 'a', '--b']);
    expect(run.stdout).toContain("rank 1 argv ['test/fixtures/argv.py', 'a', '--b']");
  });

  it('stops quietly with 141 when its reader goes away (| head), no EPIPE crash', async () => {
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const shell = spawn('bash', ['-c', `node ${CLI} exec -n 2 test/fixtures/many_lines.py | head -1; echo "status \${PIPESTATUS[0]}" >&2`], {
        cwd: REPO_ROOT,
        env: { ...process.env, MPIAAS_REDIS_PREFIX: `test:exec:${randomUUID()}:` },
      });
      let stderr = '';
      shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      shell.on('close', (code) => resolve({ code, stderr }));
    });
    expect(run.stderr).toBe('status 141\n');
  });

  it('--futures runs `python -m mpi4py.futures`: ranks other than 0 serve the pool', async () => {
    const run = await mpiaasExec(['-n', '3', '--futures', fixture('futures_pool.py')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('squares [0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121]\nranks [1, 2]\n');
  });

  it('forked ranks that need a fresh interpreter (--futures) get it, the interpreter named as on PATH', async () => {
    // `--python python3`: the forker finds it on PATH; the fresh interpreter must be that one
    const env = { PATH: `${path.dirname(process.env.MPIAAS_PYTHON ?? '/usr/bin/python3')}:${process.env.PATH}` };
    const run = await mpiaasExec(['-n', '4', '--python', 'python3', '--futures', fixture('futures_pool.py')], { env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('squares [0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121]\nranks [1, 2, 3]\n');
  });

  it('runs a folder with __main__.py, and honours PYTHONSAFEPATH, forked (np 4) as not (np 3)', async () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-main-'));
    writeFileSync(path.join(folder, '__main__.py'), 'import os, sys\nprint(os.environ["OMPI_COMM_WORLD_RANK"], os.path.basename(sys.path[0]))\n');
    try {
      for (const np of [3, 4]) {
        const run = await mpiaasExec(['-n', String(np), folder]);
        expect(run.stderr).toBe('');
        expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(Array.from({ length: np }, (_, rank) => `${rank} ${path.basename(folder)}`));
        const safe = await mpiaasExec(['-n', String(np), fixture('rank_parent.py')], { env: { PYTHONSAFEPATH: '1' } });
        expect(safe.stderr).toBe('');
        expect(safe.stdout).toContain('script folder first on sys.path False');
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('MPICommExecutor farms tasks out to the other ranks, and runs them itself at np 1', async () => {
    for (const np of ['1', '3']) {
      const run = await mpiaasExec(['-n', np, fixture('futures_comm.py')]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('roots [0.0, 1.0, 2.0, 3.0]\nerror ValueError\n');
      expect(run.stdout.match(/done/g)).toHaveLength(Number(np));
    }
  });

  it('mpi4py 4.x Isendrecv and Isendrecv_replace on a ring, one agent and agents apart', async () => {
    for (const agents of ['1', '3']) {
      const run = await mpiaasExec(['-n', '3', '--agents', agents, fixture('mpi4x_isendrecv.py')]);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(['rank 0 got 2', 'rank 1 got 0', 'rank 2 got 1']);
    }
  });

  it('Alltoallw relative to MPI.BOTTOM (Get_address in struct types) and with derived types', async () => {
    for (const agents of ['1', '3']) {
      const run = await mpiaasExec(['-n', '3', '--agents', agents, fixture('alltoallw_bottom.py')]);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(['ok 0', 'ok 1', 'ok 2']);
    }
  });

  it("a large Bcast's root waits until every member has joined (a small one returns at once): one agent, two and three", async () => {
    for (const [np, agents] of [['3', '1'], ['2', '2'], ['3', '3']] as const) {
      const run = await mpiaasExec(['-n', np, '--agents', agents, fixture('large_bcast_root_waits.py')]);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean)).toEqual(['root returned at once', 'root waited']);
    }
  });

  it('large bcasts pass through files on one agent and through the agents over two, leaving nothing behind', async () => {
    for (const [agents, how] of [['1', 'through files'], ['2', 'through the agents']] as const) {
      const run = await mpiaasExec(['-n', '4', '--agents', agents, fixture('shared_memory_bcast.py')]);
      expect(run.code, run.stderr).toBe(0);
      const [went, left, folder] = run.stdout.split('\n');
      expect([went, left]).toEqual([how, 'left: 0']);
      expect(existsSync(folder!.replace('folder: ', ''))).toBe(false);
    }
  });

  it('small blocking collectives of ranks on one agent meet in shared memory, others through the agents; MPI4PY_SHM_COLLECTIVES=0 sends all through the agents', async () => {
    const one = await mpiaasExec(['-n', '4', fixture('shm_collectives.py')]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toBe('checked 1923 calls\nmet in shared memory: half, world\n');
    // over two agents (ranks dealt round-robin), world spans both; each half of Split(rank % 2) is on one
    const two = await mpiaasExec(['-n', '4', '--agents', '2', fixture('shm_collectives.py')]);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toBe('checked 1923 calls\nmet in shared memory: half\n');
    expect(await keysUnder(two.prefix)).toEqual([]);
    const off = await mpiaasExec(['-n', '4', fixture('shm_collectives.py')], { env: { MPI4PY_SHM_COLLECTIVES: '0' } });
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toBe('checked 1923 calls\nmet in shared memory: none\n');
  });

  it('a rank failing while the others wait in shared memory fails the job at once', async () => {
    const run = await mpiaasExec(['-n', '4', fixture('shm_collectives_raise.py')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ValueError: rank 1 gives up');
    expect(run.stderr).toMatch(/job FAILED: rank 1 exited with code 1/);
    expect(run.elapsedMs).toBeLessThan(10_000);
  });

  it('large messages of every kind pass through files to ranks of the same agent, through the agents to others', async () => {
    for (const agents of ['1', '2']) {
      const run = await mpiaasExec(['-n', '4', '--agents', agents, fixture('shared_memory_messages.py')]);
      expect(run.code, run.stderr).toBe(0);
      // over two agents only a rank's messages to itself stay on its agent
      const [went, left, folder] = run.stdout.split('\n');
      expect([went, left]).toEqual(['through files', 'left: 0']);
      expect(existsSync(folder!.replace('folder: ', ''))).toBe(false);
    }
  });

  it('ranks run under SCHED_BATCH, so that a woken rank does not preempt its agent; MPI4PY_SCHED_BATCH=0 keeps the default', async () => {
    const batch = await mpiaasExec(['-n', '3', fixture('sched_policy.py')]);
    expect(batch.code, batch.stderr).toBe(0);
    expect(batch.stdout).toBe('SCHED_BATCH SCHED_BATCH SCHED_BATCH\n');
    const plain = await mpiaasExec(['-n', '2', fixture('sched_policy.py')], { env: { MPI4PY_SCHED_BATCH: '0' } });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('SCHED_OTHER SCHED_OTHER\n');
  });

  it("large bcasts over agents reach an agent's ranks through one file of the agent's, leaving nothing behind", async () => {
    for (const agents of ['2', '3']) {
      const run = await mpiaasExec(['-n', '6', '--agents', agents, fixture('agent_files_bcast.py')]);
      expect(run.code, run.stderr).toBe(0);
      // one folder for every agent here: each of them wrote (each hosts two members of a bcast rooted elsewhere)
      expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual([0, 1, 2, 3, 4, 5].map((rank) => `rank ${rank}: files of ${agents} agents, names left 0`));
    }
  });

  it('MPI-4 persistent collectives: each start uses the buffers as they are then, one agent and two', async () => {
    for (const agents of ['1', '2']) {
      const run = await mpiaasExec(['-n', '4', '--agents', agents, fixture('persistent_collectives.py')]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(['ok 0', 'ok 1', 'ok 2', 'ok 3']);
    }
  });

  it('neighbourhood collectives on Cartesian, graph and distributed graph topologies, one agent and agents apart', async () => {
    for (const [np, agents] of [['4', '1'], ['6', '3']] as const) {
      const run = await mpiaasExec(['-n', np, '--agents', agents, fixture('neighbor_halo.py')]);
      expect(run.code).toBe(0);
      expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(Array.from({ length: Number(np) }, (_, r) => `ok ${r}`));
    }
  });

  it('pkl5 requests: get_status_all before and after the receives, message.free()', async () => {
    const run = await mpiaasExec(['-n', '2', fixture('pkl5_get_status.py')]);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(['ok 0', 'ok 1']);
  });

  it('says clearly when the script does not exist', async () => {
    const run = await mpiaasExec(['-n', '2', 'no/such/script.py']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('mpiaas: cannot open script no/such/script.py: no such file\n');
  });

  it('keeps the output of ranks that print and exit before their agent is up (ranks start while it connects)', async () => {
    const run = await mpiaasExec(['-n', '4', fixture('print_without_mpi.py')]);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual([0, 1, 2, 3].map((rank) => `rank ${rank} without MPI`));
  });

  it('leaves no rank running when the job cannot start (Redis unreachable after the ranks were started)', async () => {
    const marker = path.join(os.tmpdir(), `mpiaas-outlive-${process.pid}-${Date.now()}`);
    const run = await mpiaasExec(['-n', '2', '--agents', '2', fixture('outlive_launcher.py'), marker], {
      env: { MPIAAS_REDIS_URL: 'redis://127.0.0.1:1' },
    });
    expect(run.code).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(existsSync(`${marker}.0`) || existsSync(`${marker}.1`)).toBe(false);
  });

  it('runs on one agent without Redis, as mpirun on one node (a test polling loop included)', async () => {
    const run = await mpiaasExec(['-n', '3', fixture('conformance_p2p.py')], { env: { MPIAAS_REDIS_URL: 'redis://127.0.0.1:1' } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('says clearly when Redis cannot be reached (agents apart)', async () => {
    const run = await mpiaasExec(['-n', '2', '--agents', '2', fixture('exit_code.py')], {
      env: { MPIAAS_REDIS_URL: 'redis://:hunter2@127.0.0.1:1' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('mpiaas: cannot connect to Redis at redis://:***@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n');
  });
});
