import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { runJob } from '@mpiaas/runtime';
import { fixture, keysUnder, mpiaasExec, REDIS_URL, REPO_ROOT } from './support/mpiaas-exec';
import { expectProfileOfCalls } from './support/profile-checks';

const python = process.env.MPIAAS_PYTHON ?? 'python3';

const allreduceBytesOf = (stdout: string): number =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .reduce((sum, line) => sum + (JSON.parse(line) as { allreduceBytes: number }).allreduceBytes, 0);

describe('profile: per MPI op and per rank', () => {
  for (const agents of [1, 2]) {
    it(`counts each rank's calls, bytes and waits (np 3, ${agents} agent${agents > 1 ? 's' : ''})`, async () => {
      const prefix = `test:profile:${randomUUID()}:`;
      let stdout = '';
      const outcome = await runJob({
        np: 3,
        agents,
        script: fixture('profile_calls.py'),
        python,
        cwd: REPO_ROOT,
        redisUrl: REDIS_URL,
        keyPrefix: prefix,
        onOutput: (_rank, stream, chunk) => {
          if (stream === 'stdout') stdout += chunk.toString();
        },
      });
      expect(outcome.status).toBe('SUCCEEDED');
      expectProfileOfCalls(outcome.profile, 3, allreduceBytesOf(stdout));
      expect(await keysUnder(prefix)).toEqual([]);
    });
  }

  it('mpiaas exec --profile prints it as a table on stderr', async () => {
    const run = await mpiaasExec(['-n', '3', '--profile', fixture('profile_calls.py')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^op\s+calls\s+bytes\s+time ms \(min \/ avg \/ max\)\s+wait ms \(min \/ avg \/ max\)\s+wait %$/m);
    expect(run.stderr).toMatch(/^Bcast\s+30\s+1000 B\s/m);
    expect(run.stderr).toMatch(/^allreduce\s+15\s/m);
    expect(run.stderr).toMatch(/^rank\s+wall ms\s+mpi ms\s+mpi %$/m);
    expect(run.stderr.match(/^[012]\s+[\d.]+\s+[\d.]+\s+[\d.]+%$/gm)).toHaveLength(3);
    // without --profile, nothing of it
    const plain = await mpiaasExec(['-n', '2', fixture('profile_calls.py')]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toMatch(/^op\s+calls/m);
  });

  it('counts the calls, bytes and waits of collectives through the agent (MPI4PY_SHM_COLLECTIVES=0) as those met in shared memory', async () => {
    const run = await mpiaasExec(['-n', '3', '--profile', fixture('profile_calls.py')], { env: { MPI4PY_SHM_COLLECTIVES: '0' } });
    expect(run.code).toBe(0);
    // the root's 30 Bcasts of 1000 B, and the ranks that waited for it
    const bcast = /^Bcast\s+30\s+1000 B\s+[\d.]+ \/ [\d.]+ \/ [\d.]+\s+[\d.]+ \/ [\d.]+ \/ ([\d.]+)/m.exec(run.stderr);
    expect(bcast, run.stderr).not.toBeNull();
    expect(Number(bcast?.[1])).toBeGreaterThan(0);
  });

  it('MPIAAS_PROFILE=0 in the environment of mpiaas exec reaches the ranks and turns it off', async () => {
    const run = await mpiaasExec(['-n', '2', '--profile', fixture('profile_calls.py')], { env: { MPIAAS_PROFILE: '0' } });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('mpiaas: no profile');
    expect(run.stderr).not.toMatch(/^op\s+calls/m);
  });

  it('MPIAAS_PROFILE=0 in the ranks’ environment turns it off', async () => {
    const outcome = await runJob({
      np: 2,
      script: fixture('profile_calls.py'),
      python,
      cwd: REPO_ROOT,
      redisUrl: REDIS_URL,
      keyPrefix: `test:profile:${randomUUID()}:`,
      env: { MPIAAS_PROFILE: '0' },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.profile).toBeUndefined();
  });
});
