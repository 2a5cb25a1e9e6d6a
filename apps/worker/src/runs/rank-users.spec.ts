import { describe, expect, it } from 'vitest';
import { RankUserPool } from './rank-users';

describe('RankUserPool', () => {
  it('gives one id per slot, and a share ordered beyond them waits for one to be released', async () => {
    const pool = new RankUserPool(100_000, 1, 1);
    const first = await pool.acquire(Date.now() + 1000);
    let second: number | undefined;
    const waiting = pool.acquire(Date.now() + 1000).then((uid) => (second = uid));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second).toBeUndefined();
    pool.release(first);
    await waiting;
    expect(second).toBe(first);
  });

  it('gives up at the deadline with the reason', async () => {
    const pool = new RankUserPool(100_000, 1, 1);
    await pool.acquire(Date.now() + 1000);
    await expect(pool.acquire(Date.now() + 30)).rejects.toThrow('no free rank user id: more jobs than slots');
  });
});
