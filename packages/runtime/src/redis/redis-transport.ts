import type { Redis } from 'ioredis';
import { decodeEnvelope, encodeEnvelope, type Envelope, type EnvelopeHeader } from './envelope';
import type { JobKeys } from './job-keys';
import { DELIVER_SCRIPT, RENDEZVOUS_SCRIPT } from './lua-scripts';

/** How many envelopes one BLMPOP may take at once: large enough to drain bursts in one trip. */
const POP_BATCH = 512;

interface ScriptedRedis extends Redis {
  mpiDeliver(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
  mpiRendezvousBuffer(numKeys: number, ...args: (string | Buffer | number)[]): Promise<Buffer[] | null>;
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
 * Moves envelopes between agents through Redis. Each agent owns one inbox list; a sender's
 * envelopes land in an inbox in the order sent, which gives MPI's non-overtaking rule.
 */
export class RedisTransport {
  private readonly redis: ScriptedRedis;
  private stopped = false;
  private pumping: Promise<void> | undefined;

  constructor(private readonly options: RedisTransportOptions) {
    const redis = options.commands as ScriptedRedis;
    if (typeof redis.mpiDeliver !== 'function') {
      redis.defineCommand('mpiDeliver', { lua: DELIVER_SCRIPT });
      redis.defineCommand('mpiRendezvous', { lua: RENDEZVOUS_SCRIPT });
    }
    this.redis = redis;
  }

  /** Starts draining this agent's inbox. */
  start(): void {
    this.pumping = this.pump();
  }

  /** Sends a point-to-point envelope (or an ack) to world rank `header.d`. Fire-and-forget. */
  deliver(header: EnvelopeHeader & { d: number }, body?: Buffer): void {
    const inbox = this.options.keys.mailbox(this.options.placement[header.d] as number);
    this.redis
      .mpiDeliver(1, inbox, this.options.ttlMs, encodeEnvelope(header, body ? [body] : []))
      .catch((error: Error) => this.fault(error));
  }

  /**
   * Adds this agent's bundle to collective (`ctx`, `seq`) shared by `agents`. Resolves with
   * every agent's bundle if this one completed the set; otherwise with null, and the bundles
   * arrive later through the inbox.
   */
  async rendezvous(ctx: string, seq: number, agents: readonly number[], bundle: Buffer): Promise<Envelope[] | null> {
    const others = agents.filter((agent) => agent !== this.options.agent).map((agent) => this.options.keys.mailbox(agent));
    try {
      const bundles = await this.redis.mpiRendezvousBuffer(
        1 + others.length,
        this.options.keys.collective(ctx, seq),
        ...others,
        agents.length,
        this.options.ttlMs,
        this.options.agent,
        bundle,
      );
      return bundles ? bundles.map(decodeEnvelope) : null;
    } catch (error) {
      this.fault(error as Error);
      return null;
    }
  }

  /** Stops the inbox loop. Safe to call more than once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.blocking.disconnect();
    await this.pumping;
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
