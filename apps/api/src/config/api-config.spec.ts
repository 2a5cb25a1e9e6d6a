import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './api-config';

describe('loadConfig', () => {
  it('has a default for everything', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      databaseUrl: 'postgresql://postgres:postgres@127.0.0.1:5432/mpiaas',
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: 'mpiaas',
      maxNp: 1024,
      defaultTimeoutSeconds: 600,
      maxTimeoutSeconds: 86_400,
      bodyLimit: '2mb',
      redisTimeoutMs: 5000,
      logLevel: 'info',
      authMode: 'none',
      adminApiKey: undefined,
      defaultQuotas: { maxQueuedJobs: 1000, maxRunningRanks: 1024, maxNp: 1024, maxTimeoutSeconds: 86_400, requestsPerMinute: 600 },
      backlogMaxQueuedRanks: 100_000,
      metricsPort: 9464,
      webhooks: { allowPrivate: false, attempts: 9, backoffMs: 5000, timeoutMs: 10_000, pollMs: 1000 },
      storage: expect.objectContaining({ STORAGE_DRIVER: 'local', S3_FORCE_PATH_STYLE: false }),
    });
  });

  it('takes an admin key only if it is long enough to be unguessable', () => {
    expect(loadConfig({ ADMIN_API_KEY: 'a'.repeat(32) }).adminApiKey).toBe('a'.repeat(32));
    expect(() => loadConfig({ ADMIN_API_KEY: 'secret' })).toThrow(/ADMIN_API_KEY: must be 32-256 printable characters/);
  });

  it('reads numbers and treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '8080', MAX_NP: '8', LOG_LEVEL: '', QUEUE_PREFIX: '{mpiaas}' });
    expect(config).toMatchObject({ port: 8080, maxNp: 8, logLevel: 'info', queuePrefix: '{mpiaas}' });
  });

  it('names every bad variable at once', () => {
    const load = () =>
      loadConfig({
        PORT: 'http',
        DATABASE_URL: 'mysql://db/x',
        REDIS_URL: 'localhost:6379',
        MAX_NP: '0',
        BODY_LIMIT: 'lots',
        LOG_LEVEL: 'loud',
        QUEUE_PREFIX: 'a:b',
      });
    expect(load).toThrow(ConfigError);
    const message = (() => {
      try {
        load();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'MAX_NP', 'BODY_LIMIT', 'LOG_LEVEL', 'QUEUE_PREFIX']) {
      expect(message).toContain(`  ${name}: `);
    }
  });

  it('refuses a default timeout above the maximum', () => {
    expect(() => loadConfig({ DEFAULT_TIMEOUT_SECONDS: '100', MAX_TIMEOUT_SECONDS: '50' })).toThrow(
      /DEFAULT_TIMEOUT_SECONDS: must not be greater than MAX_TIMEOUT_SECONDS/,
    );
  });
});
