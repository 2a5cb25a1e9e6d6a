// Cleanup of a job's keys on real Redis, through the real transport: what a job of several
// agents leaves when it ends half-way (a collective waiting for bundles, large envelopes
// nobody read) is found in its loose set and removed without a SCAN of the keyspace.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Envelope, EnvelopeHeader } from '../redis/envelope';
import { JobKeys } from '../redis/job-keys';
import { PayloadConnection } from '../redis/payload-connection';
import { RedisTransport } from '../redis/redis-transport';
import { deleteJobKeys } from './delete-job-keys';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
const opened: Redis[] = [redis];
const transports: RedisTransport[] = [];
const payloadConnections: PayloadConnection[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.stop()));
  payloadConnections.splice(0).forEach((connection) => connection.close());
});
afterAll(() => opened.forEach((connection) => connection.disconnect()));

/** Larger than an envelope kept in a list: stored in chunks, behind a pointer. */
const LARGE = Buffer.alloc(1280 * 1024, 7);

function jobKeys(): JobKeys {
  return new JobKeys(`test:keys:${randomBytes(4).toString('hex')}:`, 'job.1');
}

async function keysOf(keys: JobKeys): Promise<string[]> {
  return (await redis.keys(keys.pattern())).sort();
}

/** The connection, noting each command cleanup sends through it. */
function watched(): { connection: Redis; sent: string[] } {
  const sent: string[] = [];
  const connection = new Proxy(redis, {
    get: (target, name, receiver) => {
      if (typeof name === 'string' && ['scan', 'keys', 'smembers', 'unlink'].includes(name)) sent.push(name);
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  return { connection, sent };
}

/** Agent `agent` of a job placed one rank per agent over `agents` agents; its inbox is read only if `reading`. */
async function transportOf(keys: JobKeys, agent: number, agents: number, reading: boolean): Promise<{ transport: RedisTransport; got: Envelope[]; faults: Error[] }> {
  const got: Envelope[] = [];
  const faults: Error[] = [];
  const commands = new Redis(REDIS_URL);
  const blocking = new Redis(REDIS_URL);
  opened.push(commands, blocking);
  const payloads = await PayloadConnection.open(REDIS_URL, `test:agent${agent}:payloads`);
  const payloadReads = await PayloadConnection.open(REDIS_URL, `test:agent${agent}:payload-reads`);
  payloadConnections.push(payloads, payloadReads);
  const transport = new RedisTransport({
    commands,
    blocking,
    payloads,
    payloadReads,
    keys,
    agent,
    placement: Array.from({ length: agents }, (_, rank) => rank),
    ttlMs: 60_000,
    onEnvelope: (envelope) => got.push(envelope),
    onFault: (error) => faults.push(error),
  });
  if (reading) transport.start();
  transports.push(transport);
  return { transport, got, faults };
}

/** Agent `agent`'s bundle (its one rank's contribution) for collective `seq` of `agents` agents. */
function bundle(agent: number, agents: number, seq: number, body: Buffer): [Extract<EnvelopeHeader, { t: 'g' }>, Buffer[]] {
  return [{ t: 'g', c: 'w', q: seq, a: agent, n: agents, m: [[agent, [body.length]]] }, [body]];
}

const all = (agents: number) => Array.from({ length: agents }, (_, agent) => agent);

describe('deleteJobKeys', () => {
  it('removes every key a job of one agent has, without looking through the keyspace', async () => {
    const keys = jobKeys();
    for (const key of keys.fixed(1)) if (key !== keys.loose()) await redis.set(key, '1', 'PX', 60_000);
    await redis.sadd(keys.loose(), 'nothing left');
    expect(await keysOf(keys)).toHaveLength(8);
    const { connection, sent } = watched();
    await deleteJobKeys(connection, keys, 1);
    expect(sent).toEqual(['smembers', 'unlink']);
    expect(await keysOf(keys)).toEqual([]);
  });

  it('finds what a job of three agents left half-way in its loose set: a waiting collective, unread payloads', async () => {
    const keys = jobKeys();
    const other = jobKeys();
    await redis.set(other.mailbox(0), 'another job', 'PX', 60_000);
    const agent0 = (await transportOf(keys, 0, 3, false)).transport;
    // A collective only agent 0 reached, one with a large bundle, a large message nobody received.
    expect(await agent0.rendezvous('w', 1, all(3), ...bundle(0, 3, 1, Buffer.from('small')))).toBeNull();
    expect(await agent0.rendezvous('w', 2, all(3), ...bundle(0, 3, 2, LARGE))).toBeNull();
    await agent0.deliver({ t: 'p', d: 1, c: 'w', s: 0, w: 0, g: 5 }, [LARGE]); // resolves once Redis has its chunks
    expect(await redis.llen(keys.mailbox(1))).toBe(1);
    const loose = (await redis.smembers(keys.loose())).sort();
    expect(loose.filter((key) => key.includes(':coll:'))).toEqual([keys.collective('w', 1), keys.collective('w', 2)]);
    // Three chunks of each large envelope, a list of each reader's announcements of them (the
    // bundle's: agents 1 and 2; the message's: agent 1), and the read counter of the bundle two
    // agents are to read (listed before its first reader creates it).
    expect(loose.filter((key) => key.includes(':pl:'))).toHaveLength(3 + 2 + 1 + 3 + 1);
    expect(await keysOf(keys)).toEqual(expect.arrayContaining(loose.filter((key) => !key.endsWith(':n'))));

    const { connection, sent } = watched();
    await deleteJobKeys(connection, keys, 3);
    expect(sent).toEqual(['smembers', 'unlink']);
    expect(await keysOf(keys)).toEqual([]);
    expect(await redis.get(other.mailbox(0))).toBe('another job');
    await redis.unlink(other.mailbox(0));
  });

  it('lists a collective or a payload only until it is done with: nothing is left to clean after a job that ended well', async () => {
    const keys = jobKeys();
    const agents = await Promise.all([0, 1, 2].map((agent) => transportOf(keys, agent, 3, true)));
    const [agent0, agent1, agent2] = agents.map((agent) => agent.transport) as [RedisTransport, RedisTransport, RedisTransport];
    // A large bundle read by two agents (a read counter), a small collective, a large message read by one.
    await agent0.rendezvous('w', 1, all(3), ...bundle(0, 3, 1, LARGE));
    await agent1.rendezvous('w', 1, all(3), ...bundle(1, 3, 1, Buffer.from('one')));
    await agent2.rendezvous('w', 1, all(3), ...bundle(2, 3, 1, Buffer.from('two')));
    void agent0.deliver({ t: 'p', d: 2, c: 'w', s: 0, w: 0, g: 5 }, [LARGE]);
    await vi.waitFor(
      () => {
        expect(agents[1]!.got).toHaveLength(3); // every bundle, pushed by agent 2, which completed the set
        expect(agents[0]!.got).toHaveLength(3);
        expect(agents[2]!.got.map((envelope) => envelope.header.t)).toEqual(['p']);
      },
      { timeout: 5000 },
    );
    expect(Buffer.concat(agents[2]!.got[0]!.body).equals(LARGE)).toBe(true);
    await vi.waitFor(async () => expect(await redis.smembers(keys.loose())).toEqual([]), { timeout: 5000 });
    expect((await keysOf(keys)).filter((key) => key.includes(':pl:') || key.includes(':coll:'))).toEqual([]);
    expect(agents.flatMap((agent) => agent.faults)).toEqual([]);
    await deleteJobKeys(redis, keys, 3);
    expect(await keysOf(keys)).toEqual([]);
  });
});
