import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, type Frame } from './frame';
import { joined, lengthOf, splitPieces } from './pieces';

describe('frames', () => {
  it('round-trips headers and multi-part bodies across arbitrary chunking', () => {
    const parts = [Buffer.from('abc'), Buffer.alloc(100_000, 7), Buffer.alloc(0)];
    const bytes = Buffer.concat([
      ...encodeFrame({ op: 'wait', parts: parts.map((p) => p.length) }, parts),
      ...encodeFrame({ op: 'hello', v: 2 }),
    ]);
    for (const size of [1, 7, 4099, bytes.length]) {
      const decoder = new FrameDecoder();
      const frames = [];
      for (let offset = 0; offset < bytes.length; offset += size) frames.push(...decoder.push(bytes.subarray(offset, offset + size)));
      expect(frames.map((f) => f.header.op)).toEqual(['wait', 'hello']);
      const split = splitPieces(frames[0]!.body, frames[0]!.header.parts as number[]);
      expect(split.map(lengthOf)).toEqual([3, 100_000, 0]);
      expect(joined(split[0]!).toString()).toBe('abc');
      expect(joined(split[1]!).every((b) => b === 7)).toBe(true);
      expect(frames[1]!.body).toEqual([]);
    }
  });

  it('hands a large body on as views of the chunks it arrived in, not joined', () => {
    const body = Buffer.alloc(1 << 20, 3);
    const bytes = Buffer.concat(encodeFrame({ op: 'send' }, [body]));
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
    const decoder = new FrameDecoder();
    const frames = chunks.flatMap((chunk) => decoder.push(chunk));
    expect(frames).toHaveLength(1);
    const pieces = frames[0]!.body;
    expect(pieces.length).toBe(chunks.length);
    expect(pieces.slice(1).every((piece, i) => piece.buffer === chunks[i + 1]!.buffer && piece.byteOffset === chunks[i + 1]!.byteOffset)).toBe(true);
    expect(joined(pieces).equals(body)).toBe(true);
  });

  it('streams a large body to the sink it is offered to, as it arrives; the frames around it are whole', () => {
    const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const bytes = Buffer.concat([
      ...encodeFrame({ op: 'hello', v: 2 }),
      ...encodeFrame({ op: 'send', dest: 1 }, [body]),
      ...encodeFrame({ op: 'send', dest: 2 }, [Buffer.alloc(1000, 1)]), // not large: never offered
      ...encodeFrame({ op: 'wait' }),
    ]);
    for (const size of [97, 4099, 65_536]) {
      const offers: [unknown, number][] = [];
      const streamed: Buffer[] = [];
      const decoder = new FrameDecoder((header, bodyLength) => {
        offers.push([header.dest, bodyLength]);
        return { write: (pieces) => streamed.push(...pieces) };
      }, 64 * 1024);
      const frames: Frame[] = [];
      for (let offset = 0; offset < bytes.length; offset += size) {
        frames.push(...decoder.push(bytes.subarray(offset, offset + size)));
        if (offers.length === 1 && frames.length === 1) expect(decoder.pending).toBeLessThan(size + 8); // nothing of the body held back
      }
      expect(offers).toEqual([[1, body.length]]);
      expect(Buffer.concat(streamed).equals(body)).toBe(true);
      expect(frames.map((f) => [f.header.op, f.streamed ?? false, lengthOf(f.body)])).toEqual([
        ['hello', false, 0],
        ['send', true, 0],
        ['send', false, 1000],
        ['wait', false, 0],
      ]);
    }
  });

  it('holds a frame whole when its offer is declined, asking once; a frame here whole is never offered', () => {
    const body = Buffer.alloc(100_000, 5);
    const bytes = Buffer.concat(encodeFrame({ op: 'send' }, [body]));
    let asked = 0;
    const declining = new FrameDecoder(() => (asked++, undefined), 1000);
    const frames = [];
    for (let offset = 0; offset < bytes.length; offset += 1000) frames.push(...declining.push(bytes.subarray(offset, offset + 1000)));
    expect(asked).toBe(1);
    expect(joined(frames[0]!.body).equals(body)).toBe(true);
    const whole = new FrameDecoder(() => (asked++, undefined), 1000);
    expect(whole.push(bytes)).toHaveLength(1);
    expect(asked).toBe(1);
  });

  it('rejects parts that do not add up to the body', () => {
    expect(() => splitPieces([Buffer.alloc(4)], [1, 2])).toThrow(/add up/);
    expect(() => splitPieces([Buffer.alloc(2), Buffer.alloc(2)], [1, 2, 3])).toThrow(/add up/);
  });

  it('splits parts across pieces as views', () => {
    const a = Buffer.from('abcd');
    const b = Buffer.from('efgh');
    const parts = splitPieces([a, b], [3, 2, 3, 0]);
    expect(parts.map((part) => joined(part).toString())).toEqual(['abc', 'de', 'fgh', '']);
    expect(parts[1]![0]!.buffer).toBe(a.buffer);
  });
});
