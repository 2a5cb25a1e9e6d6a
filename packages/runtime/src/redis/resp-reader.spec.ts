import { describe, expect, it } from 'vitest';
import { RespReader, type RespReply } from './resp-reader';

/** The replies `bytes` reads as when it arrives in reads of `size` bytes (whole if undefined). */
function readIn(bytes: Buffer, size?: number): { replies: RespReply[]; reads: Buffer[] } {
  const replies: RespReply[] = [];
  const reader = new RespReader((reply) => replies.push(reply));
  const reads: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size ?? bytes.length) {
    // A socket read of its own memory (Buffer.alloc: never a slice of Node's shared pool)
    const slice = bytes.subarray(offset, offset + (size ?? bytes.length));
    const read = Buffer.alloc(slice.length);
    slice.copy(read);
    reads.push(read);
    reader.push(read);
  }
  return { replies, reads };
}

const value = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
const stream = Buffer.concat([
  Buffer.from('+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:42\r\n$-1\r\n$0\r\n\r\n'),
  Buffer.from(`$${value.length}\r\n`),
  value,
  Buffer.from('\r\n$5\r\nhe\r\nl\r\n+PONG\r\n'),
  // BLPOP's answer, an array in an array, an empty one and the nil array
  Buffer.from('*2\r\n$3\r\nkey\r\n$1\r\n7\r\n*3\r\n:1\r\n*2\r\n$-1\r\n+x\r\n$0\r\n\r\n*0\r\n*-1\r\n:5\r\n'),
]);

describe('RespReader', () => {
  it.each([1, 2, 7, 4099, undefined])('reads every kind of reply the payload connection gets, in reads of %s bytes', (size) => {
    const { replies } = readIn(stream, size);
    const joinBulks = (reply: RespReply): unknown =>
      reply.kind === 'bulk' && reply.pieces
        ? { kind: 'bulk', bytes: Buffer.concat(reply.pieces) }
        : reply.kind === 'array' && reply.items
          ? { kind: 'array', items: reply.items.map(joinBulks) }
          : reply;
    const bulks = replies.map(joinBulks);
    expect(bulks).toEqual([
      { kind: 'simple', text: 'OK' },
      { kind: 'error', message: 'WRONGTYPE Operation against a key holding the wrong kind of value' },
      { kind: 'integer', value: 42 },
      { kind: 'bulk', pieces: null },
      { kind: 'bulk', bytes: Buffer.alloc(0) },
      { kind: 'bulk', bytes: value },
      { kind: 'bulk', bytes: Buffer.from('he\r\nl') }, // a CRLF inside a value is data
      { kind: 'simple', text: 'PONG' },
      { kind: 'array', items: [{ kind: 'bulk', bytes: Buffer.from('key') }, { kind: 'bulk', bytes: Buffer.from('7') }] },
      {
        kind: 'array',
        items: [
          { kind: 'integer', value: 1 },
          { kind: 'array', items: [{ kind: 'bulk', pieces: null }, { kind: 'simple', text: 'x' }] },
          { kind: 'bulk', bytes: Buffer.alloc(0) },
        ],
      },
      { kind: 'array', items: [] },
      { kind: 'array', items: null },
      { kind: 'integer', value: 5 },
    ]);
  });

  it('hands a bulk string on as views of the reads it arrived in, not joined', () => {
    const { replies, reads } = readIn(stream, 4096);
    const bulk = replies[5] as Extract<RespReply, { kind: 'bulk' }>;
    expect(bulk.pieces!.length).toBeGreaterThan(2);
    expect(bulk.pieces!.every((piece) => reads.some((read) => read.buffer === piece.buffer))).toBe(true);
  });

  it('refuses what the payload connection never asks for, and malformed lines', () => {
    expect(() => readIn(Buffer.from('%1\r\n$1\r\na\r\n$1\r\nb\r\n'))).toThrow(/unexpected reply from Redis/); // a RESP3 map
    expect(() => readIn(Buffer.from('*x\r\n'))).toThrow(/malformed array length/);
    expect(() => readIn(Buffer.from('$x\r\n'))).toThrow(/malformed bulk length/);
    expect(() => readIn(Buffer.from('+OK\n'))).toThrow(/malformed reply line/);
  });
});
