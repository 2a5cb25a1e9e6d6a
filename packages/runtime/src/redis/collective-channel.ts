import type { Redis } from 'ioredis';

/** Reads the channel's log (entries 0-<from> .. 0-<to>) for a subscriber that missed messages. */
export type ChannelLogReader = (from: number, to: number) => Promise<Buffer[]>;

/** A message of the collective channel: its number, who published it, the bundles it carries. */
export interface ChannelMessage {
  seq: number;
  from: number;
  bundles: Buffer[];
}

export function decodeChannelMessage(raw: Buffer): ChannelMessage {
  const seq = raw.readUInt32LE(0);
  const from = raw.readUInt32LE(4);
  const count = raw.readUInt32LE(8);
  const bundles: Buffer[] = [];
  let offset = 12;
  for (let i = 0; i < count; i++) {
    const length = raw.readUInt32LE(offset);
    bundles.push(raw.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { seq, from, bundles };
}

/**
 * The receiving side of the job's collective channel: hands on every message exactly once
 * and in order. Pub/sub delivers only to connected subscribers and says nothing of what it
 * could not deliver, so each message is numbered: a duplicate is dropped, and a gap is
 * filled from the channel's log before going on. A gap the log no longer covers is a
 * fault (the job fails) — never a silent loss.
 */
export class CollectiveChannel {
  private last = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly readLog: ChannelLogReader,
    /** Called in order with every message (the publisher's own too: it must skip those). */
    private readonly onMessage: (message: ChannelMessage) => Promise<void>,
    private readonly onFault: (error: Error) => void,
  ) {}

  /** A message as the subscriber received it; handled after those received before it. */
  receive(raw: Buffer): void {
    this.queue = this.queue.then(() => this.handle(decodeChannelMessage(raw))).catch((error: Error) => this.onFault(error));
  }

  /** Resolves once every message received so far has been handled. */
  drained(): Promise<void> {
    return this.queue;
  }

  private async handle(message: ChannelMessage): Promise<void> {
    if (message.seq <= this.last) return; // already had it (read from the log)
    if (message.seq > this.last + 1) {
      const missed = await this.readLog(this.last + 1, message.seq - 1);
      const expected = message.seq - 1 - this.last;
      if (missed.length !== expected) {
        throw new Error(`missed collective messages ${this.last + 1}..${message.seq - 1} and the log no longer holds them`);
      }
      for (const raw of missed) await this.deliver(decodeChannelMessage(raw));
    }
    await this.deliver(message);
  }

  private async deliver(message: ChannelMessage): Promise<void> {
    this.last = message.seq;
    await this.onMessage(message);
  }
}

/** Reads entries of a channel log stream written by RENDEZVOUS_PUBLISH_SCRIPT. */
export function channelLogReader(redis: Redis, log: string): ChannelLogReader {
  return async (from, to) => {
    const entries = (await redis.xrangeBuffer(log, `0-${from}`, `0-${to}`)) as [Buffer, Buffer[]][];
    return entries.map(([, fields]) => fields[1] as Buffer);
  };
}
