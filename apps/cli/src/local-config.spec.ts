import { describe, expect, it } from 'vitest';
import { loadLocalConfig } from './local-config';

describe('loadLocalConfig', () => {
  it('defaults to the local Redis, the mpi: prefix and python3', () => {
    expect(loadLocalConfig({})).toEqual({ redisUrl: 'redis://127.0.0.1:6379', keyPrefix: 'mpi:', python: 'python3' });
  });

  it('takes what the environment sets', () => {
    const env = { MPIAAS_REDIS_URL: 'rediss://cache:6380/2', MPIAAS_REDIS_PREFIX: 'lab:', MPIAAS_PYTHON: '/usr/bin/python3' };
    expect(loadLocalConfig(env)).toEqual({ redisUrl: 'rediss://cache:6380/2', keyPrefix: 'lab:', python: '/usr/bin/python3' });
  });

  it('names every variable that is wrong and why', () => {
    expect(() => loadLocalConfig({ MPIAAS_REDIS_URL: 'http://cache', MPIAAS_REDIS_PREFIX: '', MPIAAS_PYTHON: '' })).toThrow(
      /MPIAAS_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL .*; MPIAAS_REDIS_PREFIX: must not be empty; MPIAAS_PYTHON: must not be empty/,
    );
    expect(() => loadLocalConfig({ MPIAAS_REDIS_URL: 'not a url' })).toThrow(/MPIAAS_REDIS_URL/);
  });
});
