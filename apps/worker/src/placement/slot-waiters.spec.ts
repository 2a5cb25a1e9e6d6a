import { describe, expect, it } from 'vitest';
import { SlotWaiters } from './slot-waiters';

describe('SlotWaiters', () => {
  it('wakes the longest waiting first, as many as asked, and says how many', async () => {
    const waiters = new SlotWaiters();
    const woke: string[] = [];
    const waits = ['a', 'b', 'c'].map((name) => waiters.wait(10_000).then(() => woke.push(name)));
    expect(waiters.wake(2)).toBe(2);
    await Promise.all(waits.slice(0, 2));
    expect(woke).toEqual(['a', 'b']);
    expect(waiters.size).toBe(1);
    expect(waiters.wake(5)).toBe(1);
    await waits[2];
    expect(waiters.wake(1)).toBe(0);
  });

  it('lets a waiter go after its time, and forgets it', async () => {
    const waiters = new SlotWaiters();
    const started = Date.now();
    await waiters.wait(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(waiters.size).toBe(0);
    expect(waiters.wake(1)).toBe(0);
  });
});
