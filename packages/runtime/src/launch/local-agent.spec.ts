import { describe, expect, it } from 'vitest';
import { fakeRankSocket } from '../engine/rank-socket.fixture';
import { startLocalAgent } from './local-agent';

const hooks = {
  abort: () => undefined,
  protocolError: (_rank: number, message: string) => {
    throw new Error(message);
  },
  internalError: (error: Error) => {
    throw error;
  },
};

describe('a local agent (a job of one agent, no Redis)', () => {
  it('answers a non-blocking probe behind what the rank sent itself, through its loopback', async () => {
    const { agent } = startLocalAgent({ jobId: 'job', placement: [0, 0], hooks });
    const { socket, send, reply } = fakeRankSocket();
    agent.attach(0, socket);
    send({ op: 'isend', req: 1, ctx: 'w', dest: 0, tag: 3, sync: true }, Buffer.from('self'));
    send({ op: 'probe', ctx: 'w', source: -1, tag: -1, block: false });
    expect((await reply()).header).toEqual({ found: true, source: 0, tag: 3, count: 4, k: 0 });
    send({ op: 'probe', ctx: 'w', source: 1, tag: -1, block: false });
    expect((await reply()).header).toEqual({ found: false, k: 1 });
  });

  it('refuses a placement with ranks on other agents', () => {
    expect(() => startLocalAgent({ jobId: 'job', placement: [0, 1], hooks })).toThrow('a local agent hosts every rank of its job');
  });
});
