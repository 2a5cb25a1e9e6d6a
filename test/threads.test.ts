// THREAD_MULTIPLE through the real runtime: threads of one rank blocked in MPI calls at once,
// with the ranks on one agent and spread over two (test/fixtures/threads_multiple.py asserts
// what each part must give; it passes under Open MPI too).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, mpiaasExec } from './support/mpiaas-exec';

const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/threads_multiple.py');

describe('threads calling MPI at once (THREAD_MULTIPLE)', () => {
  it.each([1, 2])('a receiver thread, collectives in two threads, a send past a blocked receive (%i agent(s))', async (agents) => {
    const run = await mpiaasExec(['-n', '4', '--agents', String(agents), FIXTURE]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual([0, 1, 2, 3].map((rank) => `rank ${rank} of 4: threads ok`));
  });
});
