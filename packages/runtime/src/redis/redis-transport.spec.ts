// The transport's ordering across its connections, on real Redis: a large envelope's chunks
// go through the payload connections, its pointer (at once) through the command connection,
// and nothing may be handed on to another agent's ranks before what was sent ahead of it.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { encodeEnvelope, type Envelope, type EnvelopeHeader } from './envelope';
import { JobKeys } from './job-keys';
import { PayloadConnection } from './payload-connection';
import { RedisTransport } from './redis-transport';
import { deleteJobKeys } from '../launch/delete-job-keys';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
const opened: Redis[] = [redis];
const closing: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});
afterAll(() => opened.forEach((connection) => connection.disconnect()));

/**
 * `connection` with the commands named `slow` reaching Redis `delayMs` late, in the order they
 * were made (a slow link, or huge chunks): what it sends stays behind what it sent before, as
 * on one connection, but nothing orders it with the agent's other connection. A method not
 * there yet (the transport defines its scripts on the connection itself) is left undefined.
 */
function slowed<T extends object>(connection: T, slow: readonly string[], delayMs: number): T {
  let issued = Promise.resolve();
  return new Proxy(connection, {
    get: (target, name) => {
      const value = Reflect.get(target, name, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      if (!slow.includes(name as string)) return method.bind(target);
      return (...args: unknown[]) => {
        const due = Date.now() + delayMs;
        let answer: Promise<unknown> | undefined;
        issued = issued.then(() => new Promise((resolve) => setTimeout(resolve, due - Date.now()))).then(() => {
          answer = method.apply(target, args);
        });
        return issued.then(() => answer);
      };
    },
  });
}

async function transportOf(
  keys: JobKeys,
  agent: number,
  slow: { stores?: number; deliveries?: number } = {},
  placement: readonly number[] = [0, 1],
  /** The agent fails on the envelope of this tag (its onEnvelope throws). */
  failOnTag?: number,
): Promise<{ transport: RedisTransport; got: Envelope[]; faults: Error[] }> {
  const got: Envelope[] = [];
  const faults: Error[] = [];
  const commands = new Redis(REDIS_URL);
  const blocking = new Redis(REDIS_URL);
  opened.push(commands, blocking);
  const payloads = await PayloadConnection.open(REDIS_URL, `test:transport:agent${agent}`);
  const payloadReads = await PayloadConnection.open(REDIS_URL, `test:transport:agent${agent}:reads`);
  const transport = new RedisTransport({
    commands: slow.deliveries ? slowed(commands, ['mpiDeliver'], slow.deliveries) : commands,
    blocking,
    payloads: slow.stores ? slowed(payloads, ['set', 'push', 'addToSet'], slow.stores) : payloads,
    payloadReads,
    keys,
    agent,
    placement,
    ttlMs: 60_000,
    onEnvelope: (envelope) => {
      if (failOnTag !== undefined && (envelope.header as { g?: number }).g === failOnTag) throw new Error(`failed on ${failOnTag}`);
      got.push(envelope);
    },
    onFault: (error) => faults.push(error),
  });
  transport.start();
  closing.push(async () => {
    await transport.stop();
    payloads.close();
    payloadReads.close();
  });
  return { transport, got, faults };
}

/** The tags of the messages `got`, in the order they were handed on. */
const tagsOf = (got: readonly Envelope[]) => got.map((envelope) => (envelope.header as { g: number }).g);

/** The keys of a new job of `agents` agents, deleted after the test. */
function jobOf(agents: number): JobKeys {
  const keys = new JobKeys(`test:transport:${randomBytes(4).toString('hex')}:`, 'job.1');
  closing.push(() => deleteJobKeys(redis, keys, agents));
  return keys;
}

const LARGE = Buffer.alloc(700 * 1024, 3);
const message = (g: number): EnvelopeHeader & { d: number } => ({ t: 'p', d: 1, c: 'w', s: 0, w: 0, g });

describe('RedisTransport', () => {
  it('hands nothing on ahead of a large envelope whose chunks are still on their way to Redis', async () => {
    const keys = jobOf(2);
    const sender = await transportOf(keys, 0, { stores: 150 });
    const receiver = await transportOf(keys, 1);
    // Every pointer reaches the inbox at once, long before its chunks are stored: the receiver
    // hands on what follows a pointer only once it has the pointer's chunks.
    void sender.transport.deliver(message(1), [LARGE]);
    void sender.transport.deliver(message(2), [Buffer.from('small, sent after it')]);
    void sender.transport.deliver(message(3), [LARGE]);
    void sender.transport.deliver(message(4), [Buffer.from('small again')]);
    await vi.waitFor(() => expect(receiver.got).toHaveLength(4), { timeout: 5000 });
    void sender.transport.deliver(message(5), [Buffer.from('small')]);
    void sender.transport.deliver(message(6), [LARGE]);
    void sender.transport.deliver(message(7), [Buffer.from('small')]);
    await vi.waitFor(() => expect(receiver.got).toHaveLength(7), { timeout: 5000 });
    expect(tagsOf(receiver.got)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const large of [0, 2, 5]) expect(Buffer.concat(receiver.got[large]!.body).equals(LARGE)).toBe(true);
    expect([...sender.faults, ...receiver.faults]).toEqual([]);
    // A collective bundle waits behind them too: between two agents it is pushed to the other's inbox.
    void sender.transport.deliver(message(8), [LARGE]);
    expect(await sender.transport.rendezvous('w', 1, [0, 1], { t: 'g', c: 'w', q: 1, a: 0, n: 2, m: [[0, [LARGE.length]]] }, [LARGE])).toBeNull();
    await vi.waitFor(() => expect(receiver.got).toHaveLength(9), { timeout: 5000 });
    expect(receiver.got[8]!.header).toMatchObject({ t: 'g', a: 0, q: 1 });
    expect(Buffer.concat(receiver.got[8]!.body).equals(LARGE)).toBe(true);
    expect([...sender.faults, ...receiver.faults]).toEqual([]);
  });

  it('among three agents, the last to arrive gets every bundle in the reply and the others theirs in the inbox', async () => {
    const keys = jobOf(3);
    const agents = [await transportOf(keys, 0, {}, [0, 1, 2]), await transportOf(keys, 1, {}, [0, 1, 2]), await transportOf(keys, 2, {}, [0, 1, 2])];
    const bundleOf = (a: number, body: Buffer): [Extract<EnvelopeHeader, { t: 'g' }>, Buffer[]] => [{ t: 'g', c: 'w', q: 0, a, n: 3, m: [[a, [body.length]]] }, [body]];
    const bodies = [LARGE, Buffer.from('one'), Buffer.from('two')];
    expect(await agents[0]!.transport.rendezvous('w', 0, [0, 1, 2], ...bundleOf(0, bodies[0]!))).toBeNull();
    expect(await agents[1]!.transport.rendezvous('w', 0, [0, 1, 2], ...bundleOf(1, bodies[1]!))).toBeNull();
    const all = await agents[2]!.transport.rendezvous('w', 0, [0, 1, 2], ...bundleOf(2, bodies[2]!));
    const byAgent = (envelopes: readonly Envelope[]) => new Map(envelopes.map((e) => [(e.header as { a: number }).a, Buffer.concat(e.body)]));
    const got = byAgent(all!);
    expect([...got.keys()].sort()).toEqual([0, 1, 2]);
    // .equals: a deep comparison of 700 KiB takes vitest seconds
    bodies.forEach((body, agent) => expect(got.get(agent)!.equals(body)).toBe(true));
    for (const waiting of [agents[0]!, agents[1]!]) await vi.waitFor(() => expect(waiting.got).toHaveLength(3), { timeout: 5000 });
    // the large bundle is not fetched back by the agent that stored it: its header alone
    expect(byAgent(agents[0]!.got).get(0)).toEqual(Buffer.alloc(0));
    expect(byAgent(agents[1]!.got).get(0)!.equals(LARGE)).toBe(true);
    expect(agents.flatMap((a) => a.faults)).toEqual([]);
  });

  it("pushes a bcast root's bundle to several inboxes, a large one read by each and then deleted", async () => {
    const keys = jobOf(3);
    const agents = [await transportOf(keys, 0, {}, [0, 1, 2]), await transportOf(keys, 1, {}, [0, 1, 2]), await transportOf(keys, 2, {}, [0, 1, 2])];
    const header = (q: number, length: number): Extract<EnvelopeHeader, { t: 'g' }> => ({ t: 'g', c: 'w', q, a: 0, n: 3, m: [[0, [length]]] });
    agents[0]!.transport.pushBundle([1, 2], header(0, 5), [Buffer.from('small')]);
    agents[0]!.transport.pushBundle([1, 2], header(1, LARGE.length), [LARGE]);
    for (const reader of [agents[1]!, agents[2]!]) {
      await vi.waitFor(() => expect(reader.got).toHaveLength(2), { timeout: 5000 });
      expect(reader.got.map((e) => (e.header as { q: number }).q)).toEqual([0, 1]);
      expect(Buffer.concat(reader.got[0]!.body).toString()).toBe('small');
      expect(Buffer.concat(reader.got[1]!.body).equals(LARGE)).toBe(true);
    }
    expect(agents[0]!.got).toEqual([]);
    // the last of its two readers deleted the large bundle's chunks
    await vi.waitFor(async () => expect(await redis.exists(`${keys.payload(0, 0)}:0`)).toBe(0), { timeout: 5000 });
    expect(agents.flatMap((a) => a.faults)).toEqual([]);
  });

  it('hands a batch of envelopes on in the order sent, fetching each pointer in line; a missing payload fails the job at its turn', async () => {
    const keys = jobOf(2);
    const sender = await transportOf(keys, 0);
    const sizes = [LARGE, Buffer.from('small'), LARGE, LARGE, Buffer.from('small'), LARGE];
    await Promise.all(sizes.map((body, g) => sender.transport.deliver(message(g), [body]))); // resolve once Redis has their chunks
    expect(await redis.llen(keys.mailbox(1))).toBe(sizes.length);
    // The fourth message's first chunk is gone (as if expired): what was sent before it still
    // arrives, nothing after it does.
    expect(await redis.unlink(`${keys.payload(0, 2)}:0`)).toBe(1);
    const receiver = await transportOf(keys, 1); // its first BLMPOP takes the whole batch
    await vi.waitFor(() => expect(receiver.faults).toHaveLength(1), { timeout: 5000 });
    expect(receiver.faults[0]!.message).toMatch(/is missing/);
    expect(tagsOf(receiver.got)).toEqual([0, 1, 2]);
    receiver.got.forEach((envelope, g) => expect(Buffer.concat(envelope.body).equals(sizes[g]!)).toBe(true));
  });

  it('resolves a delivery once Redis holds it, its chunks too', async () => {
    const keys = jobOf(2);
    const sender = await transportOf(keys, 0, { stores: 150 });
    const started = Date.now();
    await sender.transport.deliver(message(1), [LARGE]); // its chunks are slow to be stored
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await redis.llen(keys.mailbox(1))).toBe(1);
    const small = sender.transport.deliver(message(2), [Buffer.from('small')]);
    const large = sender.transport.deliver(message(3), [LARGE]);
    await large;
    expect(await redis.llen(keys.mailbox(1))).toBe(3);
    await small;
    expect(sender.faults).toEqual([]);
  });

  it('keeps a large message behind a small one the command connection has not delivered yet', async () => {
    const keys = jobOf(2);
    const sender = await transportOf(keys, 0, { deliveries: 150 });
    const receiver = await transportOf(keys, 1);
    void sender.transport.deliver(message(1), [Buffer.from('small, still on its way')]);
    void sender.transport.deliver(message(2), [LARGE]); // its chunks must not let it past the slow small one
    void sender.transport.deliver(message(3), [Buffer.from('small')]);
    await vi.waitFor(() => expect(receiver.got).toHaveLength(3), { timeout: 5000 });
    expect(tagsOf(receiver.got)).toEqual([1, 2, 3]);
    expect(Buffer.concat(receiver.got[1]!.body).equals(LARGE)).toBe(true);
    expect([...sender.faults, ...receiver.faults]).toEqual([]);
  });

  it('sends a message whose body is still arriving: its pointer first, then each chunk as it comes', async () => {
    const keys = jobOf(2);
    const sender = await transportOf(keys, 0);
    const receiver = await transportOf(keys, 1);
    const body = randomBytes(1200 * 1024);
    const stream = sender.transport.deliverStream(message(1), body.length);
    void sender.transport.deliver(message(2), [Buffer.from('sent after it started')]);
    await vi.waitFor(async () => expect(await redis.llen(keys.mailbox(1))).toBe(0), { timeout: 5000 }); // both popped
    for (let offset = 0; offset < body.length; offset += 100_000) {
      stream.write([body.subarray(offset, offset + 100_000)]);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await stream.sent;
    await vi.waitFor(() => expect(receiver.got).toHaveLength(2), { timeout: 5000 });
    expect(tagsOf(receiver.got)).toEqual([1, 2]);
    expect(Buffer.concat(receiver.got[0]!.body).equals(body)).toBe(true);
    expect([...sender.faults, ...receiver.faults]).toEqual([]);
  });

  it('an agent failing on an envelope handed on behind a large one fails the job, once; nothing after it is handed on', async () => {
    const keys = jobOf(2);
    const sender = await transportOf(keys, 0);
    await Promise.all([LARGE, Buffer.from('fails'), Buffer.from('after it')].map((body, g) => sender.transport.deliver(message(g), [body])));
    const receiver = await transportOf(keys, 1, {}, [0, 1], 1);
    await vi.waitFor(() => expect(receiver.faults.map((error) => error.message)).toEqual(['failed on 1']), { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tagsOf(receiver.got)).toEqual([0]);
    expect(receiver.faults).toHaveLength(1);
  });

  it("hands the job's end on at once, ahead of a large envelope whose chunks never come; what follows that waits", async () => {
    const keys = jobOf(2);
    // Agent 0 sent a pointer, then failed before storing the chunks, and told the others the job is over.
    const end: EnvelopeHeader = { t: 'k', a: 0, v: { status: 'FAILED', exitCode: 1, reason: 'lost Redis', at: Date.now() } };
    await redis.rpush(
      keys.mailbox(1),
      encodeEnvelope({ t: 'x', k: keys.payload(0, 0), r: 1, c: 2 }),
      encodeEnvelope(message(2), [Buffer.from('behind it')]),
      encodeEnvelope(end),
    );
    const receiver = await transportOf(keys, 1);
    await vi.waitFor(() => expect(receiver.got.map((envelope) => envelope.header.t)).toEqual(['k']), { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.got).toHaveLength(1); // the message stays behind the pointer, in order
    expect(receiver.faults).toEqual([]);
    // closing (afterEach) stops the transport, which ends the wait: nothing hangs
  });
});
