import { expect } from 'vitest';
import type { JobProfileView } from '@mpiaas/contracts';

/** The checks every profile of test/fixtures/profile_calls.py at np 3 must pass. */
export function expectProfileOfCalls(profile: JobProfileView | undefined, np: number, allreduceBytes: number): void {
  expect(profile).toBeDefined();
  const op = (name: string) => profile!.ops.find((entry) => entry.op === name);
  // Named as called, counted over all ranks: 10 Bcast and 5 allreduce per rank.
  expect(op('Bcast')).toMatchObject({ calls: 10 * np, bytes: 10 * 100 });
  expect(op('allreduce')).toMatchObject({ calls: 5 * np, bytes: allreduceBytes });
  expect(op('send')).toMatchObject({ calls: 1, bytes: expect.any(Number) });
  expect(op('send')!.bytes).toBeGreaterThan(1000);
  expect(op('recv')).toMatchObject({ calls: 1, bytes: 0 });
  // allreduce is a gather underneath: it is not counted twice
  expect(op('allgather')).toBeUndefined();
  for (const entry of profile!.ops) {
    expect(entry.timeMs.min).toBeLessThanOrEqual(entry.timeMs.avg);
    expect(entry.timeMs.avg).toBeLessThanOrEqual(entry.timeMs.max);
    expect(entry.waitMs.max).toBeLessThanOrEqual(entry.timeMs.max + 0.01);
  }
  // Rank 0, the root, comes 0.3 s late: the others wait for it in their first Bcast (most of
  // the 0.3 s: the others' own start-up eats into it on a loaded machine).
  expect(op('Bcast')!.waitMs.max).toBeGreaterThan(150);
  expect(op('Bcast')!.waitMs.min).toBeLessThan(50);
  expect(profile!.ranks.map((rank) => rank.rank)).toEqual([...Array(np).keys()]);
  for (const rank of profile!.ranks) {
    expect(rank.mpiMs).toBeGreaterThan(0);
    expect(rank.mpiMs).toBeLessThanOrEqual(rank.wallMs);
  }
}
