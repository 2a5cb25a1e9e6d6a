import { describe, expect, it } from 'vitest';
import { chunksOf } from './payload-chunks';
import { decodeEnvelope, decodeEnvelopePieces, encodeEnvelope, envelopePieces, type EnvelopeHeader } from './envelope';

const header: EnvelopeHeader = { t: 'p', d: 1, c: 'w', s: 0, w: 0, g: 7 };

/** The bytes of `views` in memory of their own (Buffer.alloc: never a slice of Node's shared pool), as Redis returns a chunk. */
function own(views: readonly Buffer[]): Buffer {
  const joined = Buffer.concat(views);
  const copy = Buffer.alloc(joined.length);
  joined.copy(copy);
  return copy;
}

describe('envelopes', () => {
  it('decodes a small envelope with its body as one view of it', () => {
    const raw = encodeEnvelope(header, [Buffer.from('hello')]);
    const { header: decoded, body } = decodeEnvelope(raw);
    expect(decoded).toEqual(header);
    expect(body).toHaveLength(1);
    expect(body[0]!.buffer).toBe(raw.buffer);
    expect(body[0]!.toString()).toBe('hello');
    expect(decodeEnvelope(encodeEnvelope({ t: 'r' })).body).toEqual([]);
  });

  it('decodes a large one from its chunks as fetched, the body as views of them (not joined)', () => {
    const payload = Buffer.alloc(3 * 65536 + 5, 9);
    const chunks = chunksOf(envelopePieces(header, [payload]), 65536).map(own);
    const { header: decoded, body } = decodeEnvelopePieces(chunks);
    expect(decoded).toEqual(header);
    expect(body.slice(1).map((piece) => piece.buffer)).toEqual(chunks.slice(1).map((chunk) => chunk.buffer));
    expect(Buffer.concat(body).equals(payload)).toBe(true);
  });

  it('joins only the chunks a header straddles; the body after them stays views', () => {
    const long: EnvelopeHeader = { t: 'g', c: 'w', q: 1, a: 0, n: 2, m: Array.from({ length: 200 }, (_, rank) => [rank, [1]] as [number, number[]]) };
    const payload = Buffer.alloc(4096, 1);
    const chunks = chunksOf(envelopePieces(long, [payload]), 64).map(own);
    const { header: decoded, body } = decodeEnvelopePieces(chunks);
    expect(decoded).toEqual(long);
    expect(Buffer.concat(body).equals(payload)).toBe(true);
    expect(body.at(-1)!.buffer).toBe(chunks.at(-1)!.buffer);
    expect(body.length).toBeGreaterThan(50);
    // A piece as short as the length prefix's first bytes, as a socket read can be.
    const split = encodeEnvelope(header, [Buffer.from('body')]);
    expect(decodeEnvelopePieces([split.subarray(0, 2), split.subarray(2, 9), split.subarray(9)]).header).toEqual(header);
  });

  it('refuses pieces shorter than the header they announce', () => {
    expect(() => decodeEnvelopePieces([encodeEnvelope(header).subarray(0, 10)])).toThrow(/shorter than its header/);
  });
});
