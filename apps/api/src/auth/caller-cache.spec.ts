import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Caller } from './caller';
import { CALLER_CACHE_MS, CallerCache } from './caller-cache';

const caller: Caller = {
  tenantId: 't',
  keyId: 'k',
  quotas: { maxQueuedJobs: 1, maxRunningRanks: 1, maxNp: 1, maxTimeoutSeconds: 1, requestsPerMinute: 1 },
};

afterEach(() => {
  vi.useRealTimers();
});

describe('CallerCache', () => {
  it('looks a key up once per CALLER_CACHE_MS, concurrent requests sharing the lookup', async () => {
    vi.useFakeTimers();
    const cache = new CallerCache();
    const lookUp = vi.fn(async () => caller);
    expect(await Promise.all([cache.get('h', lookUp), cache.get('h', lookUp)])).toEqual([caller, caller]);
    vi.advanceTimersByTime(CALLER_CACHE_MS - 1);
    await cache.get('h', lookUp);
    expect(lookUp).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    await cache.get('h', lookUp);
    expect(lookUp).toHaveBeenCalledTimes(2);
  });

  it('keeps no unknown or revoked key, and no failed lookup', async () => {
    const cache = new CallerCache();
    const none = vi.fn(async () => null);
    await cache.get('h', none);
    await cache.get('h', none);
    expect(none).toHaveBeenCalledTimes(2);
    const failing = vi.fn(async () => Promise.reject(new Error('db down')));
    await expect(cache.get('f', failing)).rejects.toThrow('db down');
    await expect(cache.get('f', failing)).rejects.toThrow('db down');
    expect(failing).toHaveBeenCalledTimes(2);
  });

  it('clear(): the next request of every key is looked up again', async () => {
    const cache = new CallerCache();
    const lookUp = vi.fn(async () => caller);
    await cache.get('h', lookUp);
    cache.clear();
    await cache.get('h', lookUp);
    expect(lookUp).toHaveBeenCalledTimes(2);
  });
});
