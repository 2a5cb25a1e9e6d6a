import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../protocol/frame';
import { agentHosting, type StreamRecord } from './agent.fixture';

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** A request frame's bytes cut into reads of `size` bytes, as a socket hands them over. */
function reads(header: object, body: Buffer, size = 64 * 1024): Buffer[] {
  const bytes = Buffer.concat(encodeFrame(header, [body]));
  return Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

const body = Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => i % 253));

describe('Agent: a large message to another agent leaves while its frame arrives', () => {
  it('sends it to the transport from its first read on, the body as it comes; the frame end adds nothing', async () => {
    const streams: StreamRecord[] = [];
    const { rank, toRedis } = agentHosting([0, 1], { streams });
    const r0 = rank(0);
    const pieces = reads({ op: 'send', ctx: 'w', dest: 1, tag: 7 }, body);
    r0.socket.push(pieces[0]);
    await settle();
    // the header came with the first read: the message is on its way before the rest of it
    expect(streams).toHaveLength(1);
    expect(streams[0]!.header).toEqual({ t: 'p', d: 1, c: 'w', s: 0, w: 0, g: 7 });
    expect(streams[0]!.bodyLength).toBe(body.length);
    for (const piece of pieces.slice(1)) r0.socket.push(piece);
    await settle();
    expect(Buffer.concat(streams[0]!.written).equals(body)).toBe(true);
    expect(toRedis.map((sent) => sent.kind)).toEqual(['stream']);
    // the rank's next request is served as usual
    r0.send({ op: 'send', ctx: 'w', dest: 1, tag: 8 }, Buffer.from('small'));
    await settle();
    expect(toRedis.map((sent) => sent.kind)).toEqual(['stream', 'deliver']);
  });

  it('holds whole what must be: to a rank of its own, a sync send, a destination out of range', async () => {
    const streams: StreamRecord[] = [];
    const protocolErrors: string[] = [];
    const { rank, toRedis } = agentHosting([0, 0, 1], { streams, protocolErrors });
    const r0 = rank(0);
    rank(1);
    for (const piece of reads({ op: 'send', ctx: 'w', dest: 1, tag: 1 }, body)) r0.socket.push(piece);
    for (const piece of reads({ op: 'isend', req: 5, ctx: 'w', dest: 2, tag: 2, sync: true }, body)) r0.socket.push(piece);
    for (const piece of reads({ op: 'send', ctx: 'w', dest: 9, tag: 3 }, body)) r0.socket.push(piece);
    await settle();
    expect(streams).toEqual([]);
    // the sync send went whole to the transport; the local one never reached it
    expect(toRedis.map((sent) => [sent.kind, sent.header && 'g' in sent.header ? sent.header.g : undefined])).toEqual([['deliver', 2]]);
    expect(protocolErrors).toEqual(['send: destination rank 9 is out of range (size 3)']);
  });

  it('abandons the message if its rank dies before the rest of it comes', async () => {
    const streams: StreamRecord[] = [];
    const { rank } = agentHosting([0, 1], { streams });
    const r0 = rank(0);
    r0.socket.push(reads({ op: 'send', ctx: 'w', dest: 1, tag: 7 }, body)[0]);
    await settle();
    expect(streams[0]!.abandoned).toBe(false);
    r0.socket.destroy();
    await settle();
    expect(streams[0]!.abandoned).toBe(true);
  });
});
