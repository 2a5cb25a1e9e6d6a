import { describe, expect, it } from 'vitest';
import { joined, type Pieces } from '../protocol/pieces';
import { collectiveResult, EAGER_BYTES, isSharedReference, resultWithoutOthers } from './collective-results';

/** A part as the pieces it may arrive in (here split in two, or one piece when short). */
const b = (text: string): Pieces => (text.length > 1 ? [Buffer.from(text.slice(0, 1)), Buffer.from(text.slice(1))] : [Buffer.from(text)]);
const texts = (parts: readonly Pieces[]): string[] => parts.map((p) => joined(p).toString());

/** Contributions of 3 ranks: rank r sends `r:<j>` for each destination j (or one part). */
const all = [0, 1, 2].map((r) => [0, 1, 2].map((j) => b(`${r}:${j}`)));

describe('collectiveResult', () => {
  it('bcast: non-roots get the root’s part, the root nothing', () => {
    const data = [[], [b('data')], []];
    expect(texts(collectiveResult('bcast', 1, 0, data))).toEqual(['data']);
    expect(collectiveResult('bcast', 1, 1, data)).toEqual([]);
  });

  it('bcast: a shared-memory reference reaches the non-roots as the root sent it, empty part first', () => {
    const reference = [[b(''), b('.mpiaas-1-7')], [], []];
    expect(texts(collectiveResult('bcast', 0, 2, reference))).toEqual(['', '.mpiaas-1-7']);
  });

  it('gather: only the root gets every rank’s first part, in rank order', () => {
    expect(texts(collectiveResult('gather', 2, 2, all))).toEqual(['0:0', '1:0', '2:0']);
    expect(collectiveResult('gather', 2, 0, all)).toEqual([]);
  });

  it('scatter: each rank gets its part of the root’s', () => {
    expect(texts(collectiveResult('scatter', 0, 2, all))).toEqual(['0:2']);
  });

  it('allgather and alltoall', () => {
    expect(texts(collectiveResult('allgather', 0, 1, all))).toEqual(['0:0', '1:0', '2:0']);
    expect(texts(collectiveResult('alltoall', 0, 1, all))).toEqual(['0:1', '1:1', '2:1']);
    expect(collectiveResult('barrier', 0, 1, all)).toEqual([]);
  });
});

describe('resultWithoutOthers', () => {
  it('lets the ranks that need nothing from others finish at once', () => {
    expect(resultWithoutOthers('bcast', 0, 0, [b('x')])).toEqual([]);
    expect(resultWithoutOthers('gather', 0, 1, [b('x')])).toEqual([]);
    expect(texts(resultWithoutOthers('scatter', 0, 0, [b('a'), b('b')]) ?? [])).toEqual(['a']);
    expect(resultWithoutOthers('bcast', 0, 1, [])).toBeUndefined();
    expect(resultWithoutOthers('allgather', 0, 0, [b('x')])).toBeUndefined();
  });

  it('only for what fits an eager message: a larger contribution waits for the others', () => {
    const large = [[Buffer.alloc(EAGER_BYTES + 1)]];
    expect(resultWithoutOthers('bcast', 0, 0, [[Buffer.alloc(EAGER_BYTES)]])).toEqual([]);
    expect(resultWithoutOthers('bcast', 0, 0, large)).toBeUndefined();
    expect(resultWithoutOthers('gather', 0, 1, large)).toBeUndefined();
  });

  it('a bcast root leaving its data in shared memory waits for the others, however small its reference', () => {
    const reference = [[] as Buffer[], [Buffer.from('.mpiaas-0-1')]];
    expect(isSharedReference(reference)).toBe(true);
    expect(resultWithoutOthers('bcast', 0, 0, reference)).toBeUndefined();
    expect(isSharedReference([[Buffer.from('data')]])).toBe(false);
    expect(isSharedReference([[Buffer.from('x')], [Buffer.from('y')]])).toBe(false);
  });
});
