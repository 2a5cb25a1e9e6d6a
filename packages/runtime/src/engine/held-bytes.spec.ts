import { describe, expect, it } from 'vitest';
import { agentHosting } from './agent.fixture';
import { HeldBytes } from './held-bytes';

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

function limitedAgent(placement: number[], maxHeldBytes: number) {
  const heldTooMuch: { message: string; rank: number | undefined }[] = [];
  return { ...agentHosting(placement, { maxHeldBytes, heldTooMuch }), heldTooMuch };
}

describe('HeldBytes', () => {
  it('reports once, naming the limit and the rank, when a hold goes past it', () => {
    const reports: [string, number | undefined][] = [];
    const held = new HeldBytes(1024, (message, rank) => reports.push([message, rank]));
    held.hold(1000, 2);
    held.hold(24, 2);
    expect(reports).toEqual([]);
    held.hold(1, 3);
    held.hold(5000, 1);
    expect(reports).toEqual([[expect.stringContaining('passed 1 KiB'), 3]]);
    expect(held.total).toBe(6025);
  });

  it('releaseAfter frees the bytes when the last owner is done, at once when there is none', () => {
    const held = new HeldBytes(100, () => undefined);
    held.hold(30);
    const done = held.releaseAfter(30, 2);
    done();
    expect(held.total).toBe(30);
    done();
    expect(held.total).toBe(0);
    held.hold(10);
    held.releaseAfter(10, 0);
    expect(held.total).toBe(0);
  });
});

describe('Agent: what it holds of the job is bounded and let go', () => {
  it('holds nothing once every message, collective and result has reached its rank', async () => {
    const { agent, rank, heldTooMuch } = limitedAgent([0, 0, 0], 1024 ** 2);
    const ranks = [rank(0), rank(1), rank(2)];
    const [r0, r1, r2] = ranks as [ReturnType<typeof rank>, ReturnType<typeof rank>, ReturnType<typeof rank>];
    // a message that waits for its receive, and one whose receive waits for it
    r0.send({ op: 'send', ctx: 'w', dest: 1, tag: 1 }, Buffer.alloc(5000, 1));
    await settle();
    expect(agent.heldBytes).toBeGreaterThanOrEqual(5000);
    r2.send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 2 });
    r0.send({ op: 'send', ctx: 'w', dest: 2, tag: 2 }, Buffer.alloc(3000, 2));
    r1.send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 1 });
    r1.send({ op: 'wait', reqs: [1], mode: 'all' });
    r2.send({ op: 'wait', reqs: [1], mode: 'all' });
    expect((await r1.reply()).body.length).toBe(5000);
    expect((await r2.reply()).body.length).toBe(3000);
    // a bcast, an allgather and an Allreduce the agent folds, each waited for
    ranks.forEach((r, i) => {
      r.send({ op: 'icoll', req: 2, ctx: 'w', coll: 'bcast', root: 0, parts: i === 0 ? [4096] : [] }, i === 0 ? Buffer.alloc(4096, 3) : undefined);
      r.send({ op: 'icoll', req: 3, ctx: 'w', coll: 'allgather', parts: [100] }, Buffer.alloc(100, i));
      r.send({ op: 'icoll', req: 4, ctx: 'w', coll: 'allgather', parts: [16], fold: 'sum/f8/2/' }, Buffer.alloc(16));
      r.send({ op: 'wait', reqs: [2, 3, 4], mode: 'all' });
    });
    for (const r of ranks) expect((await r.reply()).header).toMatchObject({ done: [{ req: 2 }, { req: 3 }, { req: 4 }] });
    // a collective of COMM_SELF, complete at once, held until waited for
    r0.send({ op: 'icoll', req: 5, ctx: 's0', coll: 'allgather', parts: [777] }, Buffer.alloc(777));
    await settle();
    expect(agent.heldBytes).toBe(777);
    r0.send({ op: 'wait', reqs: [5], mode: 'all' });
    expect((await r0.reply()).body.length).toBe(777);
    expect(agent.heldBytes).toBe(0);
    expect(heldTooMuch).toEqual([]);
  });

  it("an Ibcast the other ranks never join, posted again and again, fails the job naming its rank", async () => {
    const { rank, heldTooMuch } = limitedAgent([0, 0], 10_000);
    const r0 = rank(0);
    rank(1);
    for (let req = 1; req <= 3; req++) {
      r0.send({ op: 'icoll', req, ctx: 'w', coll: 'bcast', root: 0, parts: [4000] }, Buffer.alloc(4000));
    }
    await settle();
    expect(heldTooMuch).toEqual([{ rank: 0, message: expect.stringContaining("the job's data held by its agent passed 10000 bytes") }]);
  });

  it('messages a rank never receives fail the job naming that rank', async () => {
    const { rank, heldTooMuch } = limitedAgent([0, 0], 10_000);
    const r0 = rank(0);
    rank(1);
    for (let i = 0; i < 3; i++) r0.send({ op: 'send', ctx: 'w', dest: 1, tag: 0 }, Buffer.alloc(4000));
    await settle();
    expect(heldTooMuch).toEqual([{ rank: 1, message: expect.stringContaining('messages not received yet') }]);
  });

  it('counts messages that arrive for a rank before it is attached, and hands them over', async () => {
    const { agent, rank, heldTooMuch } = limitedAgent([0, 0], 10_000);
    agent.onEnvelope({ header: { t: 'p', d: 1, c: 'w', s: 0, w: 0, g: 0 }, body: [Buffer.alloc(6000)] });
    expect(agent.heldBytes).toBe(6000);
    const r1 = rank(1);
    expect(agent.heldBytes).toBe(6000);
    r1.send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 0 });
    r1.send({ op: 'wait', reqs: [1], mode: 'all' });
    expect((await r1.reply()).body.length).toBe(6000);
    expect(agent.heldBytes).toBe(0);
    agent.onEnvelope({ header: { t: 'p', d: 0, c: 'w', s: 1, w: 1, g: 0 }, body: [Buffer.alloc(6000)] });
    agent.onEnvelope({ header: { t: 'p', d: 0, c: 'w', s: 1, w: 1, g: 0 }, body: [Buffer.alloc(6000)] });
    expect(heldTooMuch).toEqual([{ rank: 0, message: expect.stringContaining('passed 10000 bytes') }]);
  });

  it('a frame larger than the limit fails the job while it is still being read', async () => {
    const { rank, heldTooMuch } = limitedAgent([0], 10_000);
    const { socket } = rank(0);
    const header = Buffer.from(JSON.stringify({ op: 'send', ctx: 'w', dest: 0, tag: 0 }));
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32LE(4 + header.length + 1_000_000, 0);
    prefix.writeUInt32LE(header.length, 4);
    socket.push(Buffer.concat([prefix, header]));
    for (let i = 0; i < 3; i++) socket.push(Buffer.alloc(4000));
    await settle();
    expect(heldTooMuch).toEqual([{ rank: 0, message: expect.stringContaining('frames being read') }]);
  });
});
