// A bcast over three agents or more has no rendezvous: the agent of its root pushes the data
// to every other agent, which completes on it and pushes its members' calls back to the
// root's agent, where they are checked.
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../redis/envelope';
import { agentHosting } from './agent.fixture';

const bcast = (req: number, root: number, parts: number[] = []) => ({ op: 'icoll', req, ctx: 'w', coll: 'bcast', root, parts, name: 'Bcast' });
const wait = (req: number) => ({ op: 'wait', reqs: [req], mode: 'all' });

/** The bundle agent `a` pushes for bcast #0 of COMM_WORLD (root 0) from its world `ranks`. */
const bundleOf = (a: number, ranks: number[], data?: Buffer, call = ['Bcast', 'bcast', 0] as [string, string, number | null]): Envelope => ({
  header: { t: 'g', c: 'w', q: 0, a, n: 3, m: ranks.map((r) => [r, data && r === 0 ? [data.length] : []]), k: ranks.map((r) => [r, ...call]) },
  body: data ? [data] : [],
});

describe("Agent: a bcast over three agents, pushed by its root's agent", () => {
  it("the root's agent pushes the data to the others and its ranks finish at once; it keeps the bcast only until their calls came", async () => {
    const { agent, rank, toRedis } = agentHosting([0, 0, 1, 2]);
    const [r0, r1] = [rank(0), rank(1)];
    r0.send(bcast(1, 0, [3]), Buffer.from('abc'));
    r0.send(wait(1));
    r1.send(bcast(1, 0));
    r1.send(wait(1));
    expect((await r1.reply()).body.toString()).toBe('abc');
    expect((await r0.reply()).header).toMatchObject({ done: [{ req: 1 }] });
    expect(toRedis).toEqual([{ kind: 'push', to: [1, 2], header: expect.objectContaining({ t: 'g', q: 0, a: 0 }), body: Buffer.from('abc') }]);
    expect(agent.heldBytes).toBe(0);
    agent.onEnvelope(bundleOf(1, [2]));
    expect(agent.snapshot().collectives).toHaveLength(1);
    agent.onEnvelope(bundleOf(2, [3]));
    expect(agent.snapshot().collectives).toEqual([]);
  });

  it('another agent sends its calls to the root’s agent and completes on the root’s bundle, come before or after', async () => {
    for (const rootFirst of [true, false]) {
      const { agent, rank, toRedis } = agentHosting([0, 1, 2], { agentIndex: 1 });
      const r1 = rank(1);
      if (rootFirst) agent.onEnvelope(bundleOf(0, [0], Buffer.from('data')));
      r1.send(bcast(1, 0));
      r1.send(wait(1));
      if (!rootFirst) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        agent.onEnvelope(bundleOf(0, [0], Buffer.from('data')));
      }
      expect((await r1.reply()).body.toString()).toBe('data');
      expect(toRedis).toEqual([{ kind: 'push', to: [0], header: expect.objectContaining({ a: 1, m: [[1, []]] }), body: Buffer.alloc(0) }]);
      expect(agent.snapshot().collectives).toEqual([]);
      expect(agent.heldBytes).toBe(0);
    }
  });

  it("a large bcast's root waits until every agent has joined, so that it cannot run ahead of them", async () => {
    const { agent, rank } = agentHosting([0, 1, 2]);
    const r0 = rank(0);
    const large = Buffer.alloc(100 * 1024, 1);
    r0.send(bcast(1, 0, [large.length]), large);
    r0.send({ op: 'test', reqs: [1], mode: 'all' });
    expect((await r0.reply()).header).toMatchObject({ done: [] });
    agent.onEnvelope(bundleOf(1, [1]));
    r0.send({ op: 'test', reqs: [1], mode: 'all' });
    expect((await r0.reply()).header).toMatchObject({ done: [] });
    agent.onEnvelope(bundleOf(2, [2]));
    r0.send(wait(1));
    expect((await r0.reply()).header).toMatchObject({ done: [{ req: 1 }] });
    expect(agent.heldBytes).toBe(0);
  });

  it('names a member that called something else as soon as its bundle comes', async () => {
    const mismatches: string[] = [];
    const { agent, rank } = agentHosting([0, 1, 2], { mismatches });
    rank(0).send(bcast(1, 0, [1]), Buffer.from('x'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    agent.onEnvelope(bundleOf(2, [2], undefined, ['Barrier', 'barrier', null]));
    expect(mismatches).toEqual(['collective mismatch on COMM_WORLD (collective #1): rank 0 called Bcast (root 0), rank 2 called Barrier']);
  });
});
