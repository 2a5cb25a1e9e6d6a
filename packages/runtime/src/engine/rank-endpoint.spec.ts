import { describe, expect, it } from 'vitest';
import type { Envelope, EnvelopeHeader } from '../redis/envelope';
import type { CollectiveRendezvous } from './collective-rendezvous';
import { HeldBytes } from './held-bytes';
import { RankEndpoint } from './rank-endpoint';
import { fakeRankSocket } from './rank-socket.fixture';

/**
 * One rank's endpoint wired to a fake Redis: what it delivers comes back to it (it is the
 * only rank) a few event-loop turns later, in delivery order, as through the real inbox.
 */
function harness() {
  const { socket, send, reply } = fakeRankSocket();
  const delivered: EnvelopeHeader[] = [];
  let inFlight = Promise.resolve();
  const endpoint: RankEndpoint = new RankEndpoint(
    { rank: 0, size: 1, jobId: 'job', host: 'host' },
    socket,
    {
      deliver: (header, body) => {
        delivered.push(header);
        const envelope: Envelope = { header, body: body ?? [] };
        inFlight = inFlight.then(() => new Promise((resolve) => setTimeout(resolve, 5))).then(() => endpoint.receive(envelope));
      },
      collectives: {} as CollectiveRendezvous,
      held: new HeldBytes(2 ** 31, () => undefined),
      abort: () => undefined,
      mismatch: () => undefined,
      protocolError: (_rank, message) => {
        throw new Error(message);
      },
    },
  );
  return { send, reply, delivered };
}

describe('RankEndpoint: non-blocking calls see what the rank itself set in motion', () => {
  it('an Iprobe right after an Issend to self finds the message', async () => {
    const { send, reply, delivered } = harness();
    send({ op: 'isend', req: 1, ctx: 'w', dest: 0, tag: 123, sync: true }, Buffer.from('x'));
    send({ op: 'probe', ctx: 'w', source: -1, tag: -1, block: false });
    expect((await reply()).header).toEqual({ found: true, source: 0, tag: 123, count: 1, k: 0 });
    // answered when the message came back through the inbox, ahead of the flush marker
    expect(delivered.map((header) => header.t)).toEqual(['p', 'f']);
  });

  it('an Iprobe that finds nothing still answers, after its marker came back', async () => {
    const { send, reply } = harness();
    send({ op: 'probe', ctx: 'w', source: -1, tag: -1, block: false });
    expect((await reply()).header).toEqual({ found: false, k: 0 });
  });

  it("a Test after the receive that matched the rank's own Issend reports the send done", async () => {
    const { send, reply } = harness();
    send({ op: 'isend', req: 1, ctx: 'w', dest: 0, tag: 5, sync: true }, Buffer.from('y'));
    send({ op: 'irecv', req: 2, ctx: 'w', source: 0, tag: 5 });
    send({ op: 'wait', reqs: [2], mode: 'all' });
    expect((await reply()).header).toMatchObject({ done: [{ req: 2, kind: 'recv' }] });
    // the ack of the match is still on its way through Redis when the Test arrives
    send({ op: 'test', reqs: [1], mode: 'all' });
    expect((await reply()).header).toMatchObject({ done: [{ req: 1, kind: 'send' }] });
  });

  it('a Test of a request nobody matches answers empty once its marker is back; a call behind it is answered meanwhile', async () => {
    const { send, reply } = harness();
    send({ op: 'irecv', req: 1, ctx: 'w', source: 0, tag: 9 });
    send({ op: 'test', reqs: [1], mode: 'all' });
    send({ op: 'hello', v: 2 });
    expect((await reply()).header).toMatchObject({ rank: 0, size: 1, k: 1 });
    expect((await reply()).header).toEqual({ done: [], parts: [], k: 0 });
  });
});
