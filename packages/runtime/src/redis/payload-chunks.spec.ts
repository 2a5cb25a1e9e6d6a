import { describe, expect, it } from 'vitest';
import { chunksOf } from './payload-chunks';

const bytes = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));

describe('chunksOf', () => {
  it('cuts the bytes of all pieces, in order, into chunks of the size, the last shorter', () => {
    const pieces = [bytes(3), bytes(10, 3), bytes(0), bytes(9, 13)];
    const chunks = chunksOf(pieces, 8).map((chunk) => Buffer.concat(chunk));
    expect(chunks.map((chunk) => chunk.length)).toEqual([8, 8, 6]);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat(pieces));
  });

  it('gives every chunk as views of the pieces it spans, copying nothing', () => {
    const head = bytes(4);
    const body = bytes(64);
    const chunks = chunksOf([head, body], 16);
    expect(Buffer.concat(chunks.flat())).toEqual(Buffer.concat([head, body]));
    expect(chunks[0]!.map((view) => view.length)).toEqual([4, 12]); // the first spans both pieces
    expect(chunks.flat().every((view) => view.buffer === head.buffer || view.buffer === body.buffer)).toBe(true);
  });

  it('makes no empty chunk', () => {
    expect(chunksOf([bytes(16)], 8).map((chunk) => chunk.length)).toEqual([1, 1]);
    expect(chunksOf([], 8)).toEqual([]);
  });
});
