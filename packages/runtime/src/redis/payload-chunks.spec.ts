import { describe, expect, it } from 'vitest';
import { chunksOf } from './payload-chunks';

const bytes = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));

describe('chunksOf', () => {
  it('cuts the bytes of all pieces, in order, into chunks of the size, the last shorter', () => {
    const pieces = [bytes(3), bytes(10, 3), bytes(0), bytes(9, 13)];
    const chunks = chunksOf(pieces, 8);
    expect(chunks.map((chunk) => chunk.length)).toEqual([8, 8, 6]);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat(pieces));
  });

  it('gives views of a piece, not copies, where a chunk lies within one', () => {
    const head = bytes(4);
    const body = bytes(64);
    const chunks = chunksOf([head, body], 16);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat([head, body]));
    // the first chunk spans the two pieces (a copy); the next ones lie within the body
    body.fill(0);
    head.fill(0);
    expect(chunks[0]!.subarray(0, 4)).toEqual(bytes(4));
    expect(chunks.slice(1).every((chunk) => chunk.every((byte) => byte === 0))).toBe(true);
  });

  it('makes no empty chunk', () => {
    expect(chunksOf([bytes(16)], 8).map((chunk) => chunk.length)).toEqual([8, 8]);
    expect(chunksOf([], 8)).toEqual([]);
  });
});
