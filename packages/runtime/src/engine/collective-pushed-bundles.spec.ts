// Between two agents a collective has no rendezvous: each agent pushes its bundle to the
// other's inbox (RedisTransport.rendezvous), so the other's bundle can arrive before this
// agent's own ranks have started the collective, or after.
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../redis/envelope';
import { agentHosting } from './agent.fixture';

/** Agent 1's bundle of collective `seq` of COMM_WORLD: world rank 1 gathered `data`. */
const bundleOfAgent1 = (seq: number, data: Buffer): Envelope => ({
  header: { t: 'g', c: 'w', q: seq, a: 1, n: 2, m: [[1, [data.length]]], k: [[1, 'allgather', 'allgather', null]] },
  body: [data],
});

describe('Agent: collectives between two agents, bundles pushed to each other', () => {
  it("completes at once when the other agent's bundle came first, and holds it until then", async () => {
    const { agent, rank, toRedis } = agentHosting([0, 1]);
    const r0 = rank(0);
    agent.onEnvelope(bundleOfAgent1(0, Buffer.from('from one')));
    expect(agent.heldBytes).toBe(8);
    r0.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'allgather', parts: [8] }, Buffer.from('from zer'));
    r0.send({ op: 'wait', reqs: [1], mode: 'all' });
    const reply = await r0.reply();
    expect(reply.header).toMatchObject({ done: [{ req: 1, counts: [8, 8] }] });
    expect(reply.body.toString()).toBe('from zerfrom one');
    expect(toRedis).toEqual([{ kind: 'rendezvous' }]); // its own bundle went out all the same
    expect(agent.heldBytes).toBe(0);
  });

  it("completes when the other agent's bundle comes later, and ignores its own coming back", async () => {
    const { agent, rank } = agentHosting([0, 1]);
    const r0 = rank(0);
    r0.send({ op: 'icoll', req: 1, ctx: 'w', coll: 'barrier', parts: [] });
    r0.send({ op: 'wait', reqs: [1], mode: 'all' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    agent.onEnvelope({ header: { t: 'g', c: 'w', q: 0, a: 1, n: 2, m: [[1, []]] }, body: [] });
    expect((await r0.reply()).header).toMatchObject({ done: [{ req: 1 }] });
    // its own bundle, as the agent completing a rendezvous of more agents pushes it back: not
    // kept for a collective to come
    agent.onEnvelope({ header: { t: 'g', c: 'w', q: 0, a: 0, n: 2, m: [[0, [5]]] }, body: [Buffer.from('bytes')] });
    expect(agent.heldBytes).toBe(0);
    // the next barrier is not completed by anything of the first one
    r0.send({ op: 'icoll', req: 2, ctx: 'w', coll: 'barrier', parts: [] });
    r0.send({ op: 'test', reqs: [2], mode: 'all' });
    expect((await r0.reply()).header).toMatchObject({ done: [] });
    expect(agent.heldBytes).toBe(0);
  });
});
