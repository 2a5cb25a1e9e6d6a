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
function harness(mismatches: string[] = [], protocolErrors?: string[]) {
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
      mismatch: (message) => mismatches.push(message),
      protocolError: (_rank, message) => {
        if (!protocolErrors) throw new Error(message);
        protocolErrors.push(message);
      },
    },
  );
  return { send, reply, delivered, endpoint };
}

/** The endpoint has read what was sent (the socket hands it over on a later turn). */
const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

describe('RankEndpoint: a rank parked in a collective met in shared memory', () => {
  it('is blocked in that collective from park to unpark', async () => {
    const { send, endpoint } = harness();
    expect(endpoint.state()).toEqual({ rank: 0, state: 'running' });
    send({ op: 'park', ctx: 'w', name: 'Bcast', root: 0 });
    await settled();
    expect(endpoint.state()).toEqual({ rank: 0, state: 'blocked', pending: [{ op: 'Bcast', comm: 'w', root: 0, collective: true }] });
    send({ op: 'unpark' });
    await settled();
    expect(endpoint.state()).toEqual({ rank: 0, state: 'running' });
  });

  it('fails the job with the mismatch it describes; a park naming no call or an unknown communicator, or another text, is refused', async () => {
    const mismatches: string[] = [];
    const errors: string[] = [];
    const { send, endpoint } = harness(mismatches, errors);
    send({ op: 'mismatch', text: 'collective mismatch on COMM_WORLD (collective #1): rank 0 called Bcast (root 0), rank 1 called Barrier' });
    await settled();
    expect(mismatches).toEqual(['collective mismatch on COMM_WORLD (collective #1): rank 0 called Bcast (root 0), rank 1 called Barrier']);
    send({ op: 'mismatch', text: 'job FAILED: something else' });
    send({ op: 'park', ctx: 'w', name: 'rank 0 is fine; rank 1' });
    send({ op: 'park', ctx: 'nowhere', name: 'Barrier' });
    await settled();
    expect(errors).toHaveLength(3);
    expect(endpoint.state()).toEqual({ rank: 0, state: 'running' });
  });

  it('refuses a collective whose count of those met in shared memory is not a count', async () => {
    const errors: string[] = [];
    const { send } = harness([], errors);
    send({ op: 'icoll', req: 1, ctx: 'w', coll: 'barrier', parts: [], m: -1 });
    send({ op: 'icoll', req: 2, ctx: 'w', coll: 'barrier', parts: [], m: 1.5 });
    await settled();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('m must be a count of collectives');
  });
});

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
