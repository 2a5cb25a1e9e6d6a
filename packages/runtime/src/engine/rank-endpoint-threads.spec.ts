import { describe, expect, it } from 'vitest';
import type { Envelope } from '../redis/envelope';
import type { CollectiveRendezvous } from './collective-rendezvous';
import { HeldBytes } from './held-bytes';
import { RankEndpoint } from './rank-endpoint';
import { fakeRankSocket } from './rank-socket.fixture';

/** A one-rank job whose messages to itself come back through a fake inbox a few turns later. */
function soloRank() {
  const { socket, send, reply } = fakeRankSocket();
  const errors: string[] = [];
  const endpoint: RankEndpoint = new RankEndpoint({ rank: 0, size: 1, jobId: 'job', host: 'host' }, socket, {
    deliver: (header, body) => {
      const envelope: Envelope = { header, body: body ?? [] };
      setTimeout(() => endpoint.receive(envelope), 5);
    },
    collectives: {} as CollectiveRendezvous,
    held: new HeldBytes(2 ** 31, () => undefined),
    abort: () => undefined,
    mismatch: () => undefined,
    protocolError: (_rank, message) => {
      errors.push(message);
    },
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  return { endpoint, send, reply, settle, errors };
}

describe('RankEndpoint: calls of several threads (THREAD_MULTIPLE)', () => {
  it('answers each call when it can, tagged with its number, not in the order they came', async () => {
    const { send, reply } = soloRank();
    send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 1 });
    send({ op: 'wait', reqs: [1], mode: 'all' }); // call 0: one thread waits for tag 1
    send({ op: 'irecv', req: 2, ctx: 'w', source: 0, tag: 2 });
    send({ op: 'wait', reqs: [2], mode: 'all' }); // call 1: another waits for tag 2
    // a third thread sends, although two calls are waiting: the frame is served at once
    send({ op: 'send', ctx: 'w', dest: 0, tag: 2 }, Buffer.from('two'));
    const second = await reply();
    expect(second.header).toMatchObject({ k: 1, done: [{ req: 2, kind: 'recv', tag: 2 }] });
    expect(second.body.toString()).toBe('two');
    send({ op: 'send', ctx: 'w', dest: 0, tag: 1 }, Buffer.from('one'));
    const first = await reply();
    expect(first.header).toMatchObject({ k: 0, done: [{ req: 1, kind: 'recv', tag: 1 }] });
    expect(first.body.toString()).toBe('one');
  });

  it('a blocking probe and a non-blocking one wait side by side', async () => {
    const { send, reply } = soloRank();
    send({ op: 'probe', ctx: 'w', source: -1, tag: 5, block: true }); // call 0
    send({ op: 'probe', ctx: 'w', source: -1, tag: 6, block: false }); // call 1: nothing yet
    expect((await reply()).header).toEqual({ found: false, k: 1 });
    send({ op: 'send', ctx: 'w', dest: 0, tag: 5 }, Buffer.from('x'));
    expect((await reply()).header).toEqual({ found: true, source: 0, tag: 5, count: 1, k: 0 });
  });

  it("a matched probe claims the message: a receive another thread posts next does not get it", async () => {
    const { send, reply } = soloRank();
    send({ op: 'send', ctx: 'w', dest: 0, tag: 4 }, Buffer.from('mine'));
    send({ op: 'probe', ctx: 'w', source: -1, tag: -1, block: true, claim: 7 }); // call 0
    expect((await reply()).header).toEqual({ found: true, source: 0, tag: 4, count: 4, k: 0 });
    send({ op: 'irecv', req: 8, ctx: 'w', source: -1, tag: -1 }); // another thread's receive
    send({ op: 'test', reqs: [8], mode: 'all' }); // call 1: still nothing for it
    expect((await reply()).header).toEqual({ done: [], parts: [], k: 1 });
    send({ op: 'wait', reqs: [7], mode: 'all' }); // call 2: the claimed receive has it
    const claimed = await reply();
    expect(claimed.header).toMatchObject({ k: 2, done: [{ req: 7, kind: 'recv', tag: 4, count: 4 }] });
    expect(claimed.body.toString()).toBe('mine');
  });

  it('an error answers the call that caused it, by number', async () => {
    const { send, reply } = soloRank();
    send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 1 });
    send({ op: 'wait', reqs: [1], mode: 'all' }); // call 0, pending
    send({ op: 'wait', reqs: [9], mode: 'all' }); // call 1: no such request
    expect((await reply()).header).toEqual({ error: 'request 9 is not active', k: 1 });
  });

  it('is blocked only when as many calls wait as it has threads', async () => {
    const { endpoint, send, settle } = soloRank();
    send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 1 });
    send({ op: 'wait', reqs: [1], mode: 'all' });
    await settle();
    expect(endpoint.state()).toMatchObject({ state: 'blocked', pending: [{ op: 'recv', peer: 0, tag: 1 }] });
    send({ op: 'threads', n: 2 }); // another thread may still send what the wait needs
    await settle();
    expect(endpoint.state()).toEqual({ rank: 0, state: 'running' });
    send({ op: 'probe', ctx: 'w', source: 0, tag: 3, block: true });
    await settle();
    expect(endpoint.state()).toEqual({
      rank: 0,
      state: 'blocked',
      pending: [
        { op: 'recv', peer: 0, tag: 1, comm: 'w' },
        { op: 'probe', peer: 0, tag: 3, comm: 'w' },
      ],
    });
  });

  it('refuses a thread count that is not a positive integer', async () => {
    const { send, settle, errors } = soloRank();
    send({ op: 'threads', n: 0 });
    await settle();
    expect(errors).toEqual(['threads: n must be a positive integer']);
  });
});
