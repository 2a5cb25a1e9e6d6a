import { describe, expect, it } from 'vitest';
import { fixture, mpiaasExec } from './support/mpiaas-exec';

describe('mpi4py.util.pool and mpi4py.util.sync (mpi4py 4.x) under mpiaas exec', () => {
  it('pool.Pool over the futures launcher: the tasks run on ranks 1 and 2; ThreadPool on threads', async () => {
    const run = await mpiaasExec(['-n', '3', '--futures', fixture('util_pool.py')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      'squares [0, 1, 4, 9, 16, 25, 36, 49]\nranks [1, 2]\nmap_async [1, 2] [[1, 2]]\nstarmap [32, 9]\n' +
        'thread pool on the main thread: False\n',
    );
  });

  it('sync.Sequential takes turns in rank order at np 4; Counter on COMM_SELF, refused on COMM_WORLD', async () => {
    const run = await mpiaasExec(['-n', '4', fixture('util_sync.py')]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter(Boolean).sort();
    expect(lines).toEqual([
      'COMM_WORLD: mpi4py.util.sync.Counter on a communicator of 4 processes needs one-sided communication (MPI.Win), ' +
        'which mpiaas does not support; it works on communicators of one process (COMM_SELF)',
      ...[0, 1, 2, 3].map((rank) => `rank ${rank} counts [10, 11, 12]`),
      'turns one at a time, in rank order: True',
    ]);
  });
});
