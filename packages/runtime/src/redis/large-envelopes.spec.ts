// Large envelopes streamed through real Redis: a reader fetches each chunk as soon as its
// writer has stored it, on a connection of its own.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LargeEnvelopes } from './large-envelopes';
import { PAYLOAD_CHUNK_BYTES } from './payload-chunks';
import { PayloadConnection } from './payload-connection';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
const connections: PayloadConnection[] = [];
let base = '';
afterEach(async () => {
  connections.splice(0).forEach((connection) => connection.close());
  const left = await redis.keys(`${base}*`);
  if (left.length > 0) await redis.unlink(...left);
});
afterAll(() => redis.disconnect());

/** Agent `agent` of a job whose keys start with `base`: its writes (optionally through `wrap`) and its reads. */
async function agentOf(agent: number, wrap: (writes: PayloadConnection) => PayloadConnection = (w) => w): Promise<LargeEnvelopes> {
  const writes = await PayloadConnection.open(REDIS_URL, `test:large:agent${agent}`);
  const reads = await PayloadConnection.open(REDIS_URL, `test:large:agent${agent}:reads`);
  connections.push(writes, reads);
  return new LargeEnvelopes({ writes: wrap(writes), reads, loose: `${base}loose`, agent, ttlMs: 60_000 }, (a, id) => `${base}pl:${a}:${id}`);
}

/** `n` bytes, different at every offset of a chunk, so that a chunk out of place shows. */
function payload(n: number): Buffer {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i + 4 <= n; i += 4) bytes.writeUInt32LE(i, i);
  return bytes;
}

/** `writes` with each SET reaching Redis `delayMs` after the one before it (a slow sender). */
function slowSets(writes: PayloadConnection, delayMs: number, issued: number[]): PayloadConnection {
  let last = Promise.resolve();
  return new Proxy(writes, {
    get: (target, name) => {
      const value = Reflect.get(target, name, target) as unknown;
      if (typeof value !== 'function') return value;
      if (name !== 'set' && name !== 'push') return (value as (...args: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const wait = name === 'set' ? delayMs : 0;
        const turn = last.then(() => new Promise((resolve) => setTimeout(resolve, wait)));
        last = turn.then(() => undefined);
        return turn.then(() => {
          if (name === 'set') issued.push(Date.now());
          return (value as (...args: unknown[]) => Promise<unknown>).apply(target, args);
        });
      };
    },
  });
}

describe('LargeEnvelopes', () => {
  it('hands a reader each chunk once it is stored: the first is fetched before the last is sent', async () => {
    base = `test:large:${randomBytes(4).toString('hex')}:`;
    const setsIssued: number[] = [];
    const writer = await agentOf(0, (writes) => slowSets(writes, 40, setsIssued));
    const reader = await agentOf(1);
    const reads = (reader as unknown as { options: { reads: PayloadConnection } }).options.reads;
    const fetchedAt: number[] = [];
    const getdel = reads.getdel.bind(reads);
    reads.getdel = (key) => getdel(key).then((chunk) => (fetchedAt.push(Date.now()), chunk));
    const body = payload(4 * PAYLOAD_CHUNK_BYTES + 1000);
    const { pointer, stored } = writer.store([body.subarray(0, 100), body.subarray(100)], [1]);
    expect(pointer.c).toBe(5);
    // The reader starts with the pointer alone, as it does from its inbox.
    const chunks = await reader.fetch(pointer);
    await stored;
    expect(Buffer.concat(chunks.flat()).equals(body)).toBe(true);
    expect(setsIssued).toHaveLength(5);
    expect(fetchedAt[0]!).toBeLessThan(setsIssued[4]!);
    // A lone reader deleted what it read, and what told it so; nothing is listed as loose.
    expect(await redis.keys(`${base}pl:*`)).toEqual([]);
    expect(await redis.smembers(`${base}loose`)).toEqual([]);
  });

  it('two agents sending each other large envelopes at once both get theirs (a wait never holds up a store)', async () => {
    base = `test:large:${randomBytes(4).toString('hex')}:`;
    const agents = [await agentOf(0), await agentOf(1)];
    const bodies = [payload(3 * PAYLOAD_CHUNK_BYTES), payload(2 * PAYLOAD_CHUNK_BYTES + 7)];
    // Each reads before the other has stored anything: both reads connections block at once.
    const pointers = [0, 1].map((a) => agents[a]!.store([bodies[a]!], [1 - a]));
    const fetched = await Promise.all([agents[1]!.fetch(pointers[0]!.pointer), agents[0]!.fetch(pointers[1]!.pointer)]);
    expect(Buffer.concat(fetched[0].flat()).equals(bodies[0]!)).toBe(true);
    expect(Buffer.concat(fetched[1].flat()).equals(bodies[1]!)).toBe(true);
  });

  it('several readers each take every chunk, from lists of their own; the chunks stay for the last one', async () => {
    base = `test:large:${randomBytes(4).toString('hex')}:`;
    const writer = await agentOf(0);
    const readers = [await agentOf(1), await agentOf(2)];
    const body = payload(PAYLOAD_CHUNK_BYTES + 5);
    const { pointer, stored } = writer.store([body], [1, 2]);
    await stored;
    for (const reader of readers) expect(Buffer.concat((await reader.fetch(pointer)).flat()).equals(body)).toBe(true);
    // What the readers' release deletes (the transport sends it: RELEASE) is still there, and listed.
    const left = await redis.keys(`${base}pl:*`);
    expect(left.sort()).toEqual([`${pointer.k}:0`, `${pointer.k}:1`]);
    expect((await redis.smembers(`${base}loose`)).sort()).toEqual([`${pointer.k}:0`, `${pointer.k}:1`, `${pointer.k}:n`]);
  });

  it('stores an envelope written in pieces as they come (a frame still arriving), chunk by chunk', async () => {
    base = `test:large:${randomBytes(4).toString('hex')}:`;
    const writer = await agentOf(0);
    const reader = await agentOf(1);
    const body = payload(2 * PAYLOAD_CHUNK_BYTES + 12_345);
    const stream = writer.open(body.length, [1]);
    expect(stream.pointer.c).toBe(3);
    const fetching = reader.fetch(stream.pointer);
    let done = false;
    void stream.stored.then(() => (done = true));
    for (let offset = 0; offset < body.length; offset += 65_536) {
      stream.write([body.subarray(offset, Math.min(offset + 65_536, body.length))]);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(Buffer.concat((await fetching).flat()).equals(body)).toBe(true);
    await stream.stored;
    expect(done).toBe(true);
    expect(() => stream.write([Buffer.alloc(1)])).toThrow(/given/);
  });

  it('settles an abandoned envelope (its rank died half-way): what was stored stays listed for cleanup', async () => {
    base = `test:large:${randomBytes(4).toString('hex')}:`;
    const writer = await agentOf(0);
    const stream = writer.open(3 * PAYLOAD_CHUNK_BYTES, [1]);
    stream.write([payload(PAYLOAD_CHUNK_BYTES + 10)]);
    stream.abandon();
    await stream.stored;
    await new Promise((resolve) => setTimeout(resolve, 50)); // the first chunk's store, still on its way
    expect(await redis.exists(`${stream.pointer.k}:0`)).toBe(1);
    expect(await redis.sismember(`${base}loose`, `${stream.pointer.k}:0`)).toBe(1);
  });

  it('a missing chunk fails the fetch; a reader waiting for chunks that never come is freed when its connection closes', async () => {
    base = `test:large:${randomBytes(4).toString('hex')}:`;
    const writer = await agentOf(0);
    const reader = await agentOf(1);
    const { pointer, stored } = writer.store([payload(PAYLOAD_CHUNK_BYTES * 2)], [1]);
    await stored;
    await redis.unlink(`${pointer.k}:1`); // as if expired
    await expect(reader.fetch(pointer)).rejects.toThrow(`stored envelope ${pointer.k} is missing`);
    // A pointer whose writer stored nothing (it failed): the wait ends with the job's connections.
    const waiting = reader.fetch({ k: `${base}pl:0:99`, r: 1, c: 2 });
    const reads = connections[3]!;
    setTimeout(() => reads.close(), 50);
    await expect(waiting).rejects.toThrow(/closed/);
  });
});
