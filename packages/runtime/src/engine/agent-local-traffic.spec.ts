import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentHosting } from './agent.fixture';

describe('Agent: traffic between ranks of one agent stays in the agent', () => {
  it('a message and the ack of its sync send go rank to rank without Redis', async () => {
    const { rank, toRedis } = agentHosting([0, 0]);
    const [r0, r1] = [rank(0), rank(1)];
    r0.send({ op: 'isend', req: 1, ctx: 'w', dest: 1, tag: 7, sync: true }, Buffer.from('hello'));
    r1.send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 7 });
    r1.send({ op: 'wait', reqs: [1], mode: 'all' });
    const received = await r1.reply();
    expect(received.header).toMatchObject({ done: [{ req: 1, kind: 'recv', source: 0, tag: 7, count: 5 }] });
    expect(received.body.toString()).toBe('hello');
    r0.send({ op: 'wait', reqs: [1], mode: 'all' });
    expect((await r0.reply()).header).toMatchObject({ done: [{ req: 1, kind: 'send' }] });
    expect(toRedis).toEqual([]);
  });

  it('a collective of ranks all on this agent completes without a rendezvous in Redis', async () => {
    const { rank, toRedis } = agentHosting([0, 0, 0]);
    const ranks = [rank(0), rank(1), rank(2)];
    ranks.forEach((r, i) => {
      r.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'allgather', parts: [1] }, Buffer.from(String(i)));
      r.send({ op: 'wait', reqs: [1], mode: 'all' });
    });
    for (const r of ranks) {
      const reply = await r.reply();
      expect(reply.header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [1, 1, 1] }] });
      expect(reply.body.toString()).toBe('012');
    }
    expect(toRedis).toEqual([]);
  });

  it('an Allreduce its ranks ask it to fold comes back as the one folded buffer; a rank that did not ask gets the parts', async () => {
    const { rank } = agentHosting([0, 0, 0]);
    const ranks = [rank(0), rank(1), rank(2)];
    const doubles = (...values: number[]): Buffer => Buffer.from(new Float64Array(values).buffer);
    ranks.forEach((r, i) => {
      const fold = i < 2 ? { fold: 'sum/f8/2/' } : {};
      r.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'allgather', parts: [16], ...fold }, doubles(i, 10 * i));
      r.send({ op: 'wait', reqs: [1], mode: 'all' });
    });
    for (const r of ranks.slice(0, 2)) {
      const reply = await r.reply();
      expect(reply.header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [16] }] });
      expect(reply.body).toEqual(doubles(3, 30));
    }
    const unfolded = await ranks[2]!.reply();
    expect(unfolded.header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [16, 16, 16] }] });
    expect(unfolded.body).toEqual(Buffer.concat([doubles(0, 0), doubles(1, 10), doubles(2, 20)]));
  });

  it('an Allreduce whose contributions differ in size comes back as the parts (the shim raises the mismatch)', async () => {
    const { rank } = agentHosting([0, 0]);
    const [r0, r1] = [rank(0), rank(1)];
    r0.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'allgather', parts: [8], fold: 'sum/f8/1/' }, Buffer.alloc(8));
    r1.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'allgather', parts: [16], fold: 'sum/f8/2/' }, Buffer.alloc(16));
    r0.send({ op: 'wait', reqs: [1], mode: 'all' });
    expect((await r0.reply()).header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [8, 16] }] });
  });

  it('a fold asked of another collective than an allgather is not done: the root of a gather gets the parts', async () => {
    const { rank } = agentHosting([0, 0]);
    const [r0, r1] = [rank(0), rank(1)];
    r0.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'gather', root: 0, parts: [8], fold: 'sum/f8/1/' }, Buffer.alloc(8));
    r1.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'gather', root: 0, parts: [8] }, Buffer.alloc(8));
    r0.send({ op: 'wait', reqs: [1], mode: 'all' });
    expect((await r0.reply()).header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [8, 8] }] });
  });

  it('a fold spec the agent cannot read is a protocol error of that rank', async () => {
    const errors: string[] = [];
    const { rank } = agentHosting([0, 0], { protocolErrors: errors });
    rank(0).send({ op: 'icoll', req: 1, ctx: 'w', coll: 'allgather', parts: [8], fold: 'sum/f8/one/' }, Buffer.alloc(8));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors).toEqual(["icoll: fold count 'one' is not a whole number"]);
  });

  it('tells its ranks the shared-memory folder, the world ranks it hosts and their share of it, when it has a folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-hello-'));
    try {
      const offered = agentHosting([1, 0, 0, 1], { agentIndex: 1, sharedMemory: { dir, bytes: 96 * 2 ** 20 } });
      const r3 = offered.rank(3);
      r3.send({ op: 'hello', v: 2 });
      // each of its two ranks, and the agent itself (agent-files.ts), may leave a third of it
      expect((await r3.reply()).header).toMatchObject({ rank: 3, shm: dir, local: [0, 3], shmBytes: 32 * 2 ** 20 });
      offered.agent.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // a folder the agent cannot open (or a single rank): the ranks share it alone
    const unopened = agentHosting([1, 0, 0, 1], { agentIndex: 1, sharedMemory: { dir: '/nonexistent/job', bytes: 96 * 2 ** 20 } }).rank(0);
    unopened.send({ op: 'hello', v: 2 });
    expect((await unopened.reply()).header).toMatchObject({ shm: '/nonexistent/job', shmBytes: 48 * 2 ** 20 });
    const plain = agentHosting([0, 0]).rank(0);
    plain.send({ op: 'hello', v: 2 });
    expect((await plain.reply()).header).not.toHaveProperty('shm');
  });

  it('a bcast whose root left its data in shared memory: the others get the reference as sent, the root waits for them', async () => {
    const { rank } = agentHosting([0, 0, 0], { sharedMemory: { dir: '/tmp/job' } });
    const [r0, r1, r2] = [rank(0), rank(1), rank(2)];
    const reference = Buffer.from('.mpiaas-0-p1 8388608');
    r0.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'bcast', root: 0, parts: [0, reference.length] }, reference);
    r0.send({ op: 'wait', reqs: [1], mode: 'all' });
    const rootReply = r0.reply();
    let rootDone = false;
    void rootReply.then(() => (rootDone = true));
    r1.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'bcast', root: 0, parts: [] });
    r1.send({ op: 'wait', reqs: [1], mode: 'all' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rootDone).toBe(false);
    r2.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'bcast', root: 0, parts: [] });
    r2.send({ op: 'wait', reqs: [1], mode: 'all' });
    for (const r of [r1, r2]) {
      const reply = await r.reply();
      expect(reply.header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [0, reference.length] }] });
      expect(reply.body).toEqual(reference);
    }
    expect((await rootReply).header).toMatchObject({ done: [{ req: 1, kind: 'coll', counts: [] }] });
  });

  it('a message left in shared memory: probed and received as the size it stands for, never sent to another agent', async () => {
    const errors: string[] = [];
    const { rank, toRedis } = agentHosting([0, 0, 1], { sharedMemory: { dir: '/tmp/job' }, protocolErrors: errors });
    const [r0, r1] = [rank(0), rank(1)];
    const reference = Buffer.from('.mpiaas-0-p1 4194304');
    r0.send({ op: 'send', ctx: 'w', dest: 1, tag: 7, shm: 4194304 }, reference);
    r1.send({ op: 'probe', ctx: 'w', source: 0, tag: 7, block: true });
    expect((await r1.reply()).header).toMatchObject({ found: true, count: 4194304 });
    r1.send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 7 });
    r1.send({ op: 'wait', reqs: [1], mode: 'all' });
    const reply = await r1.reply();
    expect(reply.header).toMatchObject({ done: [{ req: 1, kind: 'recv', count: reference.length, shm: 4194304 }] });
    expect(reply.body).toEqual(reference);
    r0.send({ op: 'send', ctx: 'w', dest: 2, tag: 7, shm: 4194304 }, reference);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors).toEqual(['send: a message left in shared memory for rank 2, which is not on this agent']);
    expect(toRedis.filter(({ kind }) => kind === 'deliver')).toEqual([]);
  });

  it('messages to another agent and collectives spanning agents go through Redis', async () => {
    const { rank, toRedis } = agentHosting([0, 1]);
    const r0 = rank(0);
    r0.send({ op: 'send', ctx: 'w', dest: 1, tag: 0 }, Buffer.from('x'));
    r0.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'barrier', parts: [] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(toRedis.map(({ kind, header }) => (header ? `${kind}:${header.t}` : kind))).toEqual(['deliver:p', 'rendezvous']);
  });

  it("a non-blocking probe's flush marker still goes round through the inbox", async () => {
    const { rank, toRedis } = agentHosting([0, 0]);
    const r0 = rank(0);
    r0.send({ op: 'probe', ctx: 'w', source: -1, tag: -1, block: false });
    expect((await r0.reply()).header).toEqual({ found: false, k: 0 });
    expect(toRedis.map(({ header }) => header?.t)).toEqual(['f']);
  });
});
