import { describe, expect, it } from 'vitest';
import { DEFERRED_CA_CERTS, redisUsesTls, restoreDeferredCaCerts } from './deferred-ca-certs';

describe('restoreDeferredCaCerts', () => {
  it('puts back the bundle the mpiaas command set aside, under its own name only', () => {
    const env: NodeJS.ProcessEnv = { [DEFERRED_CA_CERTS]: '/etc/ssl/extra.pem' };
    expect(restoreDeferredCaCerts(env)).toBe(true);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ssl/extra.pem' });
  });

  it('keeps an empty value (the user set one: Node reads nothing then) and leaves an environment without one alone', () => {
    const empty: NodeJS.ProcessEnv = { [DEFERRED_CA_CERTS]: '' };
    expect(restoreDeferredCaCerts(empty)).toBe(false);
    expect(empty).toEqual({ NODE_EXTRA_CA_CERTS: '' });
    const none: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/a.pem' };
    expect(restoreDeferredCaCerts(none)).toBe(false);
    expect(none).toEqual({ NODE_EXTRA_CA_CERTS: '/a.pem' });
  });
});

describe('redisUsesTls', () => {
  it('is true for rediss:// and for a tls query option, as ioredis reads them', () => {
    expect(redisUsesTls('rediss://cache:6380/0')).toBe(true);
    expect(redisUsesTls('redis://cache:6380/0?tls=true')).toBe(true);
    expect(redisUsesTls('redis://cache:6380/0?tls=RedisCloudFixed')).toBe(true);
    expect(redisUsesTls('redis://127.0.0.1:6379')).toBe(false);
    expect(redisUsesTls('redis://127.0.0.1:6379/2?db=2')).toBe(false);
  });
});
