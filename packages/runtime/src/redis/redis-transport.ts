import type { Redis } from 'ioredis';
import { decodeEnvelope, decodeEnvelopePieces, encodeEnvelope, envelopePieces, peekKind, type Envelope, type EnvelopeHeader } from './envelope';
import type { JobKeys } from './job-keys';
import { CollectiveChannel, channelLogReader, type ChannelMessage } from './collective-channel';
import {
  ARRIVE_SCRIPT,
  DELIVER_SCRIPT,
  LEAVE_SCRIPT,
  RELEASE_SCRIPT,
  RENDEZVOUS_SCRIPT,
} from './lua-scripts';
import { AgentHeartbeat } from './agent-presence';
import { agentCountOf } from './placement';
import { lengthOf } from '../protocol/pieces';
import { chunksOf, PAYLOAD_CHUNK_BYTES } from './payload-chunks';
import type { PayloadConnection } from './payload-connection';

/** How many envelopes one BLMPOP may take at once: large enough to drain bursts in one trip. */
const POP_BATCH = 512;

/**
 * Envelopes above this size travel as a plain string key plus a small pointer: Lua and
 * list operations copy their arguments several times, a SET/GET pair moves them once.
 */
const LARGE_ENVELOPE_BYTES = 64 * 1024;

/** Messages of the collective channel kept for a subscriber that missed some. */
const CHANNEL_LOG_LENGTH = 1024;

/**
 * Collectives of at most this many agents skip the rendezvous: each agent pushes its bundle
 * to the others' inboxes, so the last to arrive completes without waiting on Redis and the
 * others a one-way trip later. Measured against the rendezvous (bench/fanout.mjs, variant
 * "every agent pushes its bundle"): 0.60–0.79x at 2 agents, 0.80–1.14x at 3 and 0.74–1.22x at
 * 4 and 8 (each agent then reads K-1 bundles instead of one), so only between two.
 */
const PUSHED_BUNDLE_MAX_AGENTS = 2;

interface ScriptedRedis extends Redis {
  mpiDeliver(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
  mpiRendezvousBuffer(numKeys: number, ...args: (string | Buffer | number)[]): Promise<Buffer[] | null>;
  mpiRelease(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
  mpiArrive(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
  mpiLeave(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number>;
}

export interface RedisTransportOptions {
  /** Connection for commands; shared by every rank this agent hosts. */
  commands: Redis;
  /** A dedicated connection: it spends its life blocked in BLMPOP on this agent's inbox. */
  blocking: Redis;
  /** Stores and fetches the chunks of large envelopes (without copying them, as ioredis would). */
  payloads: PayloadConnection;
  /**
   * A connection subscribed to the job's collective channel, for jobs with enough agents
   * that publishing a collective's result once beats pushing it to every inbox.
   */
  subscriber?: Redis;
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
  /** How many agents the job has (numbered from 0, each hosting at least one rank). */
  readonly agentCount: number;
  private stopped = false;
  private pumping: Promise<void> | undefined;
  private nextPayloadId = 0;
  private readonly presence: AgentHeartbeat;
  /** The headers of this agent's large collective bundles until they come back to it (stored(…, own)). */
  private readonly ownStored = new Map<string, EnvelopeHeader>();
  /**
   * Resolves once Redis has everything later sends must follow (undefined: it has all): the
   * chunks of large envelopes, which go through the payload connection, and a pointer sent
   * there after them. Nothing orders one connection's commands before the other's, so every
   * envelope sent through `commands` waits for it (send()).
   */
  private storing: Promise<void> | undefined;
  /** Envelopes sent through `commands` that Redis has not answered yet. */
  private unanswered = 0;

  constructor(private readonly options: RedisTransportOptions) {
    const redis = options.commands as ScriptedRedis;
    if (typeof redis.mpiDeliver !== 'function') {
      redis.defineCommand('mpiDeliver', { lua: DELIVER_SCRIPT });
      redis.defineCommand('mpiRendezvous', { lua: RENDEZVOUS_SCRIPT });
      redis.defineCommand('mpiRelease', { lua: RELEASE_SCRIPT });
      redis.defineCommand('mpiArrive', { lua: ARRIVE_SCRIPT });
      redis.defineCommand('mpiLeave', { lua: LEAVE_SCRIPT });
    }
    this.redis = redis;
    this.presence = new AgentHeartbeat(redis, options.keys, options.agent);
    this.agentCount = agentCountOf(options.placement);
    for (const connection of [options.commands, options.blocking, ...(options.subscriber ? [options.subscriber] : [])]) {
      connection.on('close', () => this.fault(new Error('connection to Redis closed')));
    }
    options.payloads.onClose((error) => this.fault(error));
  }

  /** Starts draining this agent's inbox. */
  start(): void {
    this.pumping = this.pump();
  }

  /**
   * Subscribes to the job's collective channel (jobs with a subscriber connection); done
   * before this agent arrives at the start rendezvous, so no agent can publish before
   * every agent listens.
   */
  async subscribe(): Promise<void> {
    const { subscriber, keys } = this.options;
    if (!subscriber) return;
    const channel = new CollectiveChannel(
      channelLogReader(this.redis, keys.channelLog()),
      (message) => this.onChannelMessage(message),
      (error) => this.fault(error),
    );
    subscriber.on('smessageBuffer', (_channel: Buffer, message: Buffer) => channel.receive(message));
    await subscriber.ssubscribe(keys.channel());
  }

  /**
   * Sends a point-to-point envelope (or an ack) to world rank `header.d`. Resolves once Redis
   * has it (the agent counts what is not there yet); a failure is the transport's fault, not
   * the caller's: the returned promise never rejects.
   */
  deliver(header: EnvelopeHeader & { d: number }, body: readonly Buffer[] = []): Promise<void> {
    const inbox = this.options.keys.mailbox(this.options.placement[header.d] as number);
    const pieces = envelopePieces(header, body);
    const length = lengthOf(pieces);
    const onError = (error: Error) => this.fault(error);
    if (length <= LARGE_ENVELOPE_BYTES) {
      return this.send(() => this.redis.mpiDeliver(1, inbox, this.options.ttlMs, Buffer.concat(pieces, length))).then(() => undefined, onError);
    }
    // Redis has answered everything this agent sent: the pointer can follow its chunks on the
    // payload connection, which keeps it behind them, without waiting for their answers.
    const behindChunks = this.storing === undefined && this.unanswered === 0;
    const pointer = this.storeLarge(header, pieces, 1, false);
    if (behindChunks) {
      this.holdSends(this.options.payloads.push(inbox, pointer, this.options.ttlMs));
      // settles (never rejects) once Redis has the chunks and the pointer
      return this.storing ?? Promise.resolve();
    }
    return this.send(() => this.redis.mpiDeliver(1, inbox, this.options.ttlMs, pointer)).then(() => undefined, onError);
  }

  /**
   * Adds this agent's bundle to collective (`ctx`, `seq`) shared by `agents`. Resolves with
   * every agent's bundle if this one completed the set; otherwise with null, and the bundles
   * arrive later through the inbox (or the channel). This agent's own bundle, if large,
   * comes back as its header alone: its contributions are the caller's already. Between two
   * agents there is no set to complete: the bundle goes to the other's inbox (null).
   */
  async rendezvous(
    ctx: string,
    seq: number,
    agents: readonly number[],
    header: Extract<EnvelopeHeader, { t: 'g' }>,
    body: readonly Buffer[],
  ): Promise<Envelope[] | null> {
    const { keys, ttlMs, agent, subscriber } = this.options;
    const otherAgents = agents.filter((other) => other !== agent);
    if (agents.length <= PUSHED_BUNDLE_MAX_AGENTS) {
      this.pushBundle(otherAgents, header, body);
      return null;
    }
    const others = otherAgents.map((other) => keys.mailbox(other));
    try {
      // Published on the channel only when every agent of the job takes part (a collective of
      // a smaller communicator would reach agents that do not wait for it).
      const publish = subscriber !== undefined && agents.length === this.agentCount;
      const bundle = this.stored(header, envelopePieces(header, body), agents.length - 1, true);
      const bundles = await this.send(() =>
        this.redis.mpiRendezvousBuffer(
          4 + others.length,
          keys.collective(ctx, seq),
          keys.channelSeq(),
          keys.channelLog(),
          keys.loose(),
          ...others,
          agents.length,
          ttlMs,
          agent,
          bundle,
          keys.channel(),
          publish ? LARGE_ENVELOPE_BYTES : -1,
          CHANNEL_LOG_LENGTH,
        ),
      );
      return bundles ? await Promise.all(bundles.map((raw) => this.resolve(raw))) : null;
    } catch (error) {
      this.fault(error as Error);
      return null;
    }
  }


  /**
   * Pushes this agent's bundle of a collective to the inboxes of agents `to`, as a message
   * goes (a large one as chunks read by all of them, then a pointer): for collectives that
   * need no rendezvous (between two agents; a bcast's root). Fire-and-forget: a failure is
   * the transport's fault.
   */
  pushBundle(to: readonly number[], header: Extract<EnvelopeHeader, { t: 'g' }>, body: readonly Buffer[]): void {
    const { keys, ttlMs } = this.options;
    const inboxes = to.map((other) => keys.mailbox(other));
    const bundle = this.stored(header, envelopePieces(header, body), inboxes.length);
    this.send(() => this.redis.mpiDeliver(inboxes.length, ...inboxes, ttlMs, bundle)).catch((error: Error) => this.fault(error));
  }

  /**
   * Joins the start rendezvous; the last agent to arrive pushes an 'r' envelope to every
   * inbox. Resolves with how many agents had arrived.
   */
  async arrive(): Promise<number> {
    const count = this.agentCount;
    const inboxes = Array.from({ length: count }, (_, agent) => this.options.keys.mailbox(agent));
    return this.redis.mpiArrive(
      1 + inboxes.length,
      this.options.keys.arrived(),
      ...inboxes,
      this.options.agent,
      count,
      this.options.ttlMs,
      encodeEnvelope({ t: 'r' }),
    );
  }

  /** The agents that have arrived at the start rendezvous. */
  async arrivedAgents(): Promise<number[]> {
    return (await this.redis.smembers(this.options.keys.arrived())).map(Number);
  }

  /** Pushes a control envelope (the job's end) to every other agent's inbox. Fire-and-forget. */
  broadcast(header: EnvelopeHeader): void {
    const others = Array.from({ length: this.agentCount }, (_, agent) => agent)
      .filter((agent) => agent !== this.options.agent)
      .map((agent) => this.options.keys.mailbox(agent));
    if (others.length === 0) return;
    const envelope = encodeEnvelope(header);
    this.send(() => this.redis.mpiDeliver(others.length, ...others, this.options.ttlMs, envelope)).catch((error: Error) => this.fault(error));
  }

  /** Renews this agent's heartbeat key for `ms`; resolves once Redis has it. */
  heartbeat(ms: number): Promise<void> {
    return this.presence.heartbeat(ms);
  }

  /** Which of `agents` are accounted for: a live heartbeat key, or gone having left the job. */
  alive(agents: readonly number[]): Promise<boolean[]> {
    return this.presence.alive(agents);
  }

  /**
   * Leaves the job for good (after stop()): resolves true for the last agent to leave, which
   * must then delete the job's keys. The command runs after every command this agent sent.
   */
  async leave(): Promise<boolean> {
    const last = await this.send(() =>
      this.redis.mpiLeave(2, this.options.keys.departed(), this.options.keys.alive(this.options.agent), this.options.agent, this.agentCount, this.options.ttlMs),
    );
    return last === 1;
  }

  /** Stops the inbox loop (and the channel subscription). Safe to call more than once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.options.blocking.disconnect();
    this.options.subscriber?.disconnect();
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
      try {
        for (const raw of reply[1] as Buffer[]) {
          // Pointers are resolved in line, so envelopes stay in the order they were sent.
          this.options.onEnvelope(peekKind(raw) === 'x' ? await this.resolve(raw) : decodeEnvelope(raw));
        }
      } catch (error) {
        this.fault(error as Error);
        return;
      }
    }
  }

  /** The bundles of a collective another agent completed (this agent's own are in its reply). */
  private async onChannelMessage(message: ChannelMessage): Promise<void> {
    if (message.from === this.options.agent) return;
    for (const raw of message.bundles) this.options.onEnvelope(await this.resolve(raw));
  }

  /**
   * What to push through `commands` for an envelope (`pieces`: envelopePieces of `header` and
   * its body): itself, or — if large — a pointer to the keys holding it, sent once Redis has
   * them (send() waits). `own`: a collective bundle of this agent, read only by the others
   * (`readers`); it comes back to this one with theirs (in the reply or its inbox) and is
   * answered from here then with its header alone, rather than fetched again.
   */
  private stored(header: EnvelopeHeader, pieces: readonly Buffer[], readers: number, own = false): Buffer {
    const length = lengthOf(pieces);
    if (length <= LARGE_ENVELOPE_BYTES) return Buffer.concat(pieces, length);
    return this.storeLarge(header, pieces, readers, own);
  }

  /**
   * Stores a large envelope's chunks through the payload connection and returns its pointer;
   * later sends wait until Redis has them. The chunks are cut from the envelope's pieces as
   * they are: a large body is not joined first (a copy of all of it).
   */
  private storeLarge(header: EnvelopeHeader, pieces: readonly Buffer[], readers: number, own: boolean): Buffer {
    const { keys, ttlMs, payloads } = this.options;
    const key = keys.payload(this.options.agent, this.nextPayloadId++);
    const chunks = chunksOf(pieces, PAYLOAD_CHUNK_BYTES);
    // Listed among the job's loose keys until the last reader deletes them (its read counter
    // too, if several read it: the first of them creates it). Through the payload connection
    // too, so that the listing is in Redis before any reader can take it off.
    const listed = chunkKeysOf(key, chunks.length);
    this.holdSends(
      Promise.all([
        ...chunks.map((chunk, i) => payloads.set(`${key}:${i}`, chunk, ttlMs)),
        payloads.addToSet(keys.loose(), readers > 1 ? [...listed, readCounterOf(key)] : listed, ttlMs),
      ]),
    );
    if (own) this.ownStored.set(key, header);
    return encodeEnvelope({ t: 'x', k: key, r: readers, c: chunks.length });
  }

  /**
   * The envelope a pointer stands for (this agent's own, or fetched from Redis: its body is
   * views of the chunks, not joined), or `raw` itself decoded.
   */
  private async resolve(raw: Buffer): Promise<Envelope> {
    if (peekKind(raw) !== 'x') return decodeEnvelope(raw);
    const pointer = decodeEnvelope(raw).header as Extract<EnvelopeHeader, { t: 'x' }>;
    const own = this.ownStored.get(pointer.k);
    if (own) {
      this.ownStored.delete(pointer.k);
      return { header: own, body: [] };
    }
    const keys = chunkKeysOf(pointer.k, pointer.c);
    const loose = this.options.keys.loose();
    const { payloads } = this.options;
    let chunks: (Buffer[] | null)[];
    if (pointer.r <= 1) {
      const fetched = Promise.all(keys.map((key) => payloads.getdel(key)));
      [chunks] = await Promise.all([fetched, this.redis.srem(loose, keys)]);
    } else {
      chunks = await Promise.all(keys.map((key) => payloads.get(key)));
      // After the reads (on another connection): the last reader's release deletes the chunks.
      this.redis
        .mpiRelease(2 + keys.length, loose, readCounterOf(pointer.k), ...keys, pointer.r, this.options.ttlMs)
        .catch((error: Error) => this.fault(error));
    }
    if (chunks.some((chunk) => chunk === null)) throw new Error(`stored envelope ${pointer.k} is missing`);
    return decodeEnvelopePieces((chunks as Buffer[][]).flat());
  }

  /**
   * Sends an envelope through `commands` once Redis has everything sent before it through the
   * payload connection: at once if it has, else after that and after every send that waited
   * before this one.
   */
  private send<T>(command: () => Promise<T>): Promise<T> {
    const counted = () => {
      this.unanswered++;
      return command().finally(() => this.unanswered--);
    };
    return this.storing ? this.storing.then(counted) : counted();
  }

  /** Makes every later send() wait for `sent` (the payload connection's part of what was sent). */
  private holdSends(sent: Promise<unknown>): void {
    const settled = sent.then(
      () => undefined,
      (error: Error) => this.fault(error),
    );
    const storing = this.storing ? Promise.all([this.storing, settled]).then(() => undefined) : settled;
    this.storing = storing;
    // Cleared when done, so that sends go out at once again; it settles before the sends waiting on it run.
    void storing.then(() => {
      if (this.storing === storing) this.storing = undefined;
    });
  }

  private fault(error: Error): void {
    if (!this.stopped) this.options.onFault(error);
  }
}

/** The keys of a large envelope stored at `key` in `count` chunks: `key:0` … */
function chunkKeysOf(key: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${key}:${i}`);
}

/** How many of its readers have fetched a large envelope stored at `key` (when several read it). */
function readCounterOf(key: string): string {
  return `${key}:n`;
}
