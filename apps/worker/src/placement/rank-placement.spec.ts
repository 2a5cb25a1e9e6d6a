import { describe, expect, it } from 'vitest';
import { placeRanks } from './rank-placement';

describe('placeRanks', () => {
  it('gives each worker a block of consecutive ranks, one per slot', () => {
    expect(placeRanks([{ worker: 'a', slots: 2 }, { worker: 'b', slots: 2 }, { worker: 'c', slots: 2 }], 6)).toEqual({
      placement: [0, 0, 1, 1, 2, 2],
      workers: ['a', 'b', 'c'],
    });
  });

  it('puts everything on one worker when one was chosen', () => {
    expect(placeRanks([{ worker: 'w', slots: 4 }], 4)).toEqual({ placement: [0, 0, 0, 0], workers: ['w'] });
  });

  it('shares ranks in proportion to slots when oversubscribed', () => {
    const { placement, workers } = placeRanks([{ worker: 'a', slots: 3 }, { worker: 'b', slots: 1 }], 8);
    expect(workers).toEqual(['a', 'b']);
    expect(placement.filter((agent) => agent === 0)).toHaveLength(6);
    expect(placement.filter((agent) => agent === 1)).toHaveLength(2);
  });

  it('numbers agents only for workers that host a rank', () => {
    const { placement, workers } = placeRanks([{ worker: 'a', slots: 1 }, { worker: 'b', slots: 1 }, { worker: 'c', slots: 1 }], 2);
    expect(placement).toHaveLength(2);
    expect(workers).toHaveLength(2);
    expect(new Set(placement)).toEqual(new Set([0, 1]));
  });
});
