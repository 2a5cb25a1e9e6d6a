// What a rank's environment holds: the caller's minus anything of mpiaas's own configuration
// and the usual credential names, the job's variables over it, the runtime's over both.
import { describe, expect, it } from 'vitest';
import { rankEnvironment } from './rank-environment';

const inherited = {
  PATH: '/usr/bin',
  HOME: '/home/u',
  MPIAAS_REDIS_URL: 'redis://secret',
  MPIAAS_TOKEN: 'secret',
  REDIS_PASSWORD: 'secret',
  DATABASE_URL: 'postgres://secret',
  PGPASSWORD: 'secret',
  POSTGRES_PASSWORD: 'secret',
  MPIAAS_PROFILE: '1',
  MPIAAS_MPI4PY: '4.1',
};

describe('rankEnvironment', () => {
  const env = rankEnvironment({ rank: 1, size: 4, jobId: 'j1', inherited, shimPath: '/shim' });

  it('withholds mpiaas configuration and credentials from an inherited environment', () => {
    for (const name of ['MPIAAS_REDIS_URL', 'MPIAAS_TOKEN', 'REDIS_PASSWORD', 'DATABASE_URL', 'PGPASSWORD', 'POSTGRES_PASSWORD']) {
      expect(env[name], name).toBeUndefined();
    }
    expect(env.PATH).toBe('/usr/bin');
    expect(env.HOME).toBe('/home/u');
  });

  it('passes the switches that are the ranks’ own: the profile timers and the mpi4py release', () => {
    expect(env.MPIAAS_PROFILE).toBe('1');
    expect(env.MPIAAS_MPI4PY).toBe('4.1');
  });

  it('gives the job’s variables over inherited ones, and the runtime’s over both', () => {
    const own = rankEnvironment({
      rank: 0,
      size: 2,
      jobId: 'j2',
      inherited: { MPIAAS_MPI4PY: '3', PYTHONPATH: '/mine' },
      extra: { MPIAAS_MPI4PY: '4', MPIAAS_RANK: '7' },
      shimPath: '/shim',
    });
    expect(own.MPIAAS_MPI4PY).toBe('4');
    expect(own.MPIAAS_RANK).toBe('0');
    expect(own.PYTHONPATH).toBe('/shim:/mine');
    expect(own.OMPI_COMM_WORLD_SIZE).toBe('2');
  });
});
