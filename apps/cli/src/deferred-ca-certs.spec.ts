import { describe, expect, it } from 'vitest';
import { DEFERRED_CA_CERTS, restoreDeferredCaCerts } from './deferred-ca-certs';

describe('restoreDeferredCaCerts', () => {
  it('puts back the bundle the mpiaas command set aside, under its own name only', () => {
    const env: NodeJS.ProcessEnv = { [DEFERRED_CA_CERTS]: '/etc/ssl/extra.pem' };
    expect(restoreDeferredCaCerts(env)).toBe(true);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ssl/extra.pem' });
  });

  it('keeps an empty value (the user set one) and leaves an environment without one alone', () => {
    const empty: NodeJS.ProcessEnv = { [DEFERRED_CA_CERTS]: '' };
    expect(restoreDeferredCaCerts(empty)).toBe(true);
    expect(empty).toEqual({ NODE_EXTRA_CA_CERTS: '' });
    const none: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/a.pem' };
    expect(restoreDeferredCaCerts(none)).toBe(false);
    expect(none).toEqual({ NODE_EXTRA_CA_CERTS: '/a.pem' });
  });
});
