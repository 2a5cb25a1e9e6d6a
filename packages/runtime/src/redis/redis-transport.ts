import type { Redis } from 'ioredis';
import { decodeEnvelope, encodeEnvelope, type Envelope, type EnvelopeHeader } from './envelope';
import type { JobKeys } from './job-keys';
import { ARRIVE_SCRIPT, DELIVER_SCRIPT } from './lua-scripts';

/** How many envelopes one BLMPOP may take at once: large enough to drain bursts in one trip. */
const POP_BATCH = 512;

interface ScriptedRedis extends Redis {
  mpiDeliver(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
  mpiArrive(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
}

export interface RedisTransportOptions {
  /** Connection for commands; shared by every rank this agent hosts. */
  commands: Redis;
  /** A dedicated connection: it spends its life blocked in BLMPOP on this agent's inbox. */
  blocking: Redis;
  keys: JobKeys;
  /** Index of this agent among the job's agents. */
  agent: number;
  /** Agent index hosting each world rank. */
  placement: readonly number[];
  /** Safety-net expiry of every key, in ms: cleanup deletes them, this catches a lost agent. */
  ttlMs: number;
  onEnvelope(envelope: Envelope): void;
  /** A Redis failure: the job cannot go on and must be failed. */
  onFault(error: Error): void;
}

/**
 * Moves envelopes between agents through Redis. Each agent owns one inbox list; an envelope
 * is pushed once to the inbox of every agent hosting one of its destinations, and each
 * pusher's envelopes land in order, which gives MPI's non-overtaking rule per sender.
 */
export class RedisTransport {
  private readonly redis: ScriptedRedis;
  private stopped = false;
  private pumping: Promise<void> | undefined;

  constructor(private readonly options: RedisTransportOptions) {
    const redis = options.commands as ScriptedRedis;
    if (typeof redis.mpiDeliver !== 'function') {
      redis.defineCommand('mpiDeliver', { lua: DELIVER_SCRIPT });
      redis.defineCommand('mpiArrive', { lua: ARRIVE_SCRIPT });
    }
    this.redis = redis;
  }

  /** Starts draining this agent's inbox. */
  start(): void {
    this.pumping = this.pump();
  }

  /** Sends an envelope to every rank in `header.d`. Fire-and-forget; failures go to onFault. */
  deliver(header: EnvelopeHeader, body?: Buffer): void {
    const inboxes = this.inboxesOf(header.d);
    this.redis
      .mpiDeliver(inboxes.length, ...inboxes, this.options.ttlMs, encodeEnvelope(header, body))
      .catch((error: Error) => this.fault(error));
  }

  /**
   * Counts `arrivals` ranks into barrier (`ctx`, `seq`) of a group of `group` world ranks;
   * the last arrival releases the whole group with `release`.
   */
  arrive(ctx: string, seq: number, group: readonly number[], arrivals: number, release: EnvelopeHeader): void {
    const inboxes = this.inboxesOf(group);
    this.redis
      .mpiArrive(
        1 + inboxes.length,
        this.options.keys.barrier(ctx, seq),
        ...inboxes,
        group.length,
        this.options.ttlMs,
        arrivals,
        encodeEnvelope(release),
      )
      .catch((error: Error) => this.fault(error));
  }

  /** Stops the inbox loop. Safe to call more than once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.blocking.disconnect();
    await this.pumping;
  }

  private inboxesOf(worldRanks: readonly number[]): string[] {
    const agents = new Set<number>();
    for (const rank of worldRanks) agents.add(this.options.placement[rank] as number);
    return [...agents].map((agent) => this.options.keys.mailbox(agent));
  }

  private async pump(): Promise<void> {
    const inbox = this.options.keys.mailbox(this.options.agent);
    while (!this.stopped) {
      let reply: unknown;
      try {
        reply = await this.options.blocking.callBuffer('BLMPOP', 0, 1, inbox, 'LEFT', 'COUNT', POP_BATCH);
      } catch (error) {
        if (!this.stopped) this.fault(error as Error);
        return;
      }
      if (!Array.isArray(reply)) continue;
      for (const raw of reply[1] as Buffer[]) this.options.onEnvelope(decodeEnvelope(raw));
    }
  }

  private fault(error: Error): void {
    if (!this.stopped) this.options.onFault(error);
  }
}
