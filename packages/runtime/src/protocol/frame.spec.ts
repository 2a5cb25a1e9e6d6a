import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, splitParts } from './frame';

describe('frames', () => {
  it('round-trips headers and multi-part bodies across arbitrary chunking', () => {
    const parts = [Buffer.from('abc'), Buffer.alloc(100_000, 7), Buffer.alloc(0)];
    const bytes = Buffer.concat([
      ...encodeFrame({ op: 'wait', parts: parts.map((p) => p.length) }, parts),
      ...encodeFrame({ op: 'hello', v: 2 }),
    ]);
    const decoder = new FrameDecoder();
    const frames = [];
    for (let offset = 0; offset < bytes.length; offset += 4099) {
      frames.push(...decoder.push(bytes.subarray(offset, offset + 4099)));
    }
    expect(frames.map((f) => f.header.op)).toEqual(['wait', 'hello']);
    const split = splitParts(frames[0]!.body, frames[0]!.header.parts as number[]);
    expect(split.map((p) => p.length)).toEqual([3, 100_000, 0]);
    expect(split[1]!.every((b) => b === 7)).toBe(true);
  });

  it('rejects parts that do not add up to the body', () => {
    expect(() => splitParts(Buffer.alloc(4), [1, 2])).toThrow(/add up/);
  });
});
