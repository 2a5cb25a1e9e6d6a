// The collective channel on a real Redis: the publishing script, the numbered messages, and
// a subscriber that missed some recovering them from the log, in order.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectiveChannel, channelLogReader, decodeChannelMessage, type ChannelMessage } from './collective-channel';
import { JobKeys } from './job-keys';
import { RENDEZVOUS_SCRIPT } from './lua-scripts';

const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(REDIS_URL);
afterAll(() => redis.disconnect());

const keys = new JobKeys(`test:channel:${randomBytes(4).toString('hex')}:`, 'job');

/** One collective of two agents: agent 0 then agent 1 adds its bundle; 1 completes and publishes. */
async function collective(seq: number, bundles: [string, string], maxPublished = 65_536): Promise<Buffer[] | null> {
  let reply: Buffer[] | null = null;
  for (const agent of [0, 1] as const) {
    reply = (await redis.callBuffer(
      'EVAL',
      RENDEZVOUS_SCRIPT,
      5,
      keys.collective('w', seq),
      keys.channelSeq(),
      keys.channelLog(),
      keys.loose(),
      keys.mailbox(1 - agent),
      2,
      60_000,
      agent,
      bundles[agent],
      keys.channel(),
      maxPublished,
      16,
    )) as Buffer[] | null;
  }
  return reply;
}

function channelOf(log = channelLogReader(redis, keys.channelLog())): { channel: CollectiveChannel; got: ChannelMessage[]; faults: Error[] } {
  const got: ChannelMessage[] = [];
  const faults: Error[] = [];
  const channel = new CollectiveChannel(log, async (message) => void got.push(message), (error) => faults.push(error));
  return { channel, got, faults };
}

describe('the collective channel', () => {
  const published: Buffer[] = [];

  it('publishes each completed collective once, numbered, with every bundle, and logs it', async () => {
    const subscriber = new Redis(REDIS_URL);
    subscriber.on('smessageBuffer', (_channel: Buffer, message: Buffer) => published.push(message));
    await subscriber.ssubscribe(keys.channel());
    for (let seq = 1; seq <= 3; seq++) expect(await collective(seq, [`a${seq}`, `b${seq}`])).toHaveLength(2);
    await expect.poll(() => published.length).toBe(3);
    subscriber.disconnect();
    const messages = published.map(decodeChannelMessage);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(messages.map((m) => m.from)).toEqual([1, 1, 1]);
    expect(messages[2]?.bundles.map(String).sort()).toEqual(['a3', 'b3']);
    expect(await redis.xlen(keys.channelLog())).toBe(3);
    expect(await redis.llen(keys.mailbox(0))).toBe(0); // nothing pushed to inboxes
  });

  it('pushes a collective too large to publish to the inboxes instead', async () => {
    await collective(4, ['x'.repeat(40), 'y'.repeat(40)], 64);
    expect(await redis.llen(keys.mailbox(0))).toBe(2);
    expect(await redis.xlen(keys.channelLog())).toBe(3);
  });

  it('hands on every message once and in order, filling a gap from the log', async () => {
    const { channel, got, faults } = channelOf();
    // The subscriber saw message 3 only (it missed 1 and 2), then 3 again.
    channel.receive(published[2]!);
    channel.receive(published[2]!);
    await channel.drained();
    expect(faults).toEqual([]);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(got.map((m) => m.bundles.map(String).sort())).toEqual([
      ['a1', 'b1'],
      ['a2', 'b2'],
      ['a3', 'b3'],
    ]);
  });

  it('fails, never skips, when the log no longer holds what was missed', async () => {
    const { channel, got, faults } = channelOf(async () => []);
    channel.receive(published[2]!);
    await channel.drained();
    expect(got).toEqual([]);
    expect(faults.map((f) => f.message)).toEqual(['missed collective messages 1..2 and the log no longer holds them']);
  });

  afterAll(async () => {
    const found = await redis.keys(`${keys.base.replace(/[{}]/g, '?')}*`);
    if (found.length > 0) await redis.del(...found);
  });
});
