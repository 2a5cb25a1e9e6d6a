import { describe, expect, it } from 'vitest';
import { agentHosting } from './agent.fixture';

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('Agent: a rank sending faster than Redis takes it in is slowed, not buffered', () => {
  it('stops reading its ranks while Redis lacks more than the high-water mark, and reads on once it has half', async () => {
    const answers: (() => void)[] = [];
    const { rank, toRedis } = agentHosting([0, 1], {
      outboundHighWater: 2500,
      answer: () => new Promise<void>((resolve) => answers.push(resolve)),
    });
    const r0 = rank(0);
    for (let i = 0; i < 4; i++) r0.send({ op: 'send', ctx: 'w', dest: 1, tag: i }, Buffer.alloc(1000));
    await settle();
    // the third send took it past 2500 bytes unanswered: the fourth waits in the socket
    expect(toRedis.map((sent) => sent.header && 'g' in sent.header && sent.header.g)).toEqual([0, 1, 2]);
    answers.shift()?.();
    await settle();
    expect(toRedis).toHaveLength(3); // 2000 bytes: above half the mark still
    answers.shift()?.();
    await settle();
    expect(toRedis).toHaveLength(4);
  });

  it('counts only what crosses agents: messages between its own ranks never hold it back', async () => {
    const { rank, toRedis } = agentHosting([0, 0], { outboundHighWater: 10, answer: () => new Promise<void>(() => undefined) });
    const [r0, r1] = [rank(0), rank(1)];
    for (let i = 0; i < 3; i++) r0.send({ op: 'send', ctx: 'w', dest: 1, tag: 0 }, Buffer.alloc(1000));
    r1.send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 0 });
    r1.send({ op: 'wait', reqs: [1], mode: 'all' });
    expect((await r1.reply()).body.length).toBe(1000);
    expect(toRedis).toEqual([]);
  });
});
