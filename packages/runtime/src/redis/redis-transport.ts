import type { Redis } from 'ioredis';
import { decodeEnvelope, decodeEnvelopePieces, encodeEnvelope, envelopePieces, LARGE_ENVELOPE_BYTES, peekKind, type Envelope, type EnvelopeHeader } from './envelope';
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
import { chunkKeysOf, LargeEnvelopes, readCounterOf } from './large-envelopes';
import type { PayloadConnection } from './payload-connection';

/** How many envelopes one BLMPOP may take at once: large enough to drain bursts in one trip. */
const POP_BATCH = 512;

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

/** A message on its way out while its body is still arriving (RedisTransport.deliverStream). */
export interface OutgoingStream {
  /** The body's next bytes. */
  write(pieces: Buffer[]): void;
  /** The rest of the body will never come: what was sent stays unfinished (its reader waits until the job ends). */
  abandon(): void;
  /** Resolves (never rejects) once Redis has all of it, or it was abandoned. */
  sent: Promise<void>;
}

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
  /** Stores the chunks of large envelopes (without copying them, as ioredis would). */
  payloads: PayloadConnection;
  /** Fetches other agents' chunks, waiting on each (large-envelopes.ts): a connection of its own. */
  payloadReads: PayloadConnection;
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
  private readonly large: LargeEnvelopes;
  private readonly presence: AgentHeartbeat;
  /** The headers of this agent's large collective bundles until they come back to it (stored(…, own)). */
  private readonly ownStored = new Map<string, EnvelopeHeader>();
  /**
   * Resolves once Redis has the chunks of every large envelope sent so far (undefined: it
   * has): leaving the job waits for it, so that the last agent's cleanup comes after them.
   */
  private storing: Promise<void> | undefined;
  /**
   * Hands on, in inbox order, the last envelope popped that waits for its chunks (or behind
   * one that does); undefined: none waits, the next is handed on at once.
   */
  private inOrder: Promise<void> | undefined;
  /** A large envelope could not be fetched: the job is failed, nothing more is handed on. */
  private fetchFailed = false;

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
    for (const payloads of [options.payloads, options.payloadReads]) payloads.onClose((error) => this.fault(error));
    this.large = new LargeEnvelopes(
      { writes: options.payloads, reads: options.payloadReads, loose: options.keys.loose(), agent: options.agent, ttlMs: options.ttlMs },
      (agent, id) => options.keys.payload(agent, id),
    );
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
   * has it, a large one's chunks too (the agent counts what is not there yet); a failure is
   * the transport's fault, not the caller's: the returned promise never rejects.
   */
  deliver(header: EnvelopeHeader & { d: number }, body: readonly Buffer[] = []): Promise<void> {
    const to = this.options.placement[header.d] as number;
    const [envelope, stored] = this.stored(header, envelopePieces(header, body), [to]);
    return this.pushTo(to, envelope, stored);
  }

  /**
   * Starts sending a point-to-point envelope whose large body (`bodyLength` bytes, more than
   * an envelope may hold in line) is still arriving from its rank: the pointer goes out at
   * once, each chunk once its bytes have come (write). `sent` resolves once Redis has all of
   * it (never rejects: a failure is the transport's fault); abandon() if the rest never comes.
   */
  deliverStream(header: EnvelopeHeader & { d: number }, bodyLength: number): OutgoingStream {
    const to = this.options.placement[header.d] as number;
    const head = envelopePieces(header);
    const writer = this.large.open(lengthOf(head) + bodyLength, [to]);
    writer.write(head);
    this.holdLeave(writer.stored);
    const sent = this.pushTo(to, encodeEnvelope({ t: 'x', ...writer.pointer }), writer.stored);
    return { write: (pieces) => writer.write(pieces), abandon: () => writer.abandon(), sent };
  }

  /**
   * Pushes `envelope` to agent `to`'s inbox; resolves once Redis has it and `stored` (a large
   * one's chunks) has resolved. Never rejects: a failure is the transport's fault.
   */
  private pushTo(to: number, envelope: Buffer, stored: Promise<void>): Promise<void> {
    const delivered = this.redis.mpiDeliver(1, this.options.keys.mailbox(to), this.options.ttlMs, envelope);
    return Promise.all([delivered, stored]).then(
      () => undefined,
      (error: Error) => this.fault(error),
    );
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
      const [bundle] = this.stored(header, envelopePieces(header, body), otherAgents, true);
      const bundles = await this.redis.mpiRendezvousBuffer(
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
    const [bundle] = this.stored(header, envelopePieces(header, body), to);
    this.redis.mpiDeliver(inboxes.length, ...inboxes, ttlMs, bundle).catch((error: Error) => this.fault(error));
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
    this.redis.mpiDeliver(others.length, ...others, this.options.ttlMs, envelope).catch((error: Error) => this.fault(error));
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
   * must then delete the job's keys. The command runs after every command this agent sent:
   * once Redis has stored its chunks (their own connection's), after its command connection's.
   */
  async leave(): Promise<boolean> {
    await this.storing;
    const last = await this.redis.mpiLeave(2, this.options.keys.departed(), this.options.keys.alive(this.options.agent), this.options.agent, this.agentCount, this.options.ttlMs);
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
        for (const raw of reply[1] as Buffer[]) this.handOn(raw);
      } catch (error) {
        this.fault(error as Error);
        return;
      }
    }
  }

  /**
   * Hands an envelope from the inbox on, in the order sent: at once if nothing waits ahead of
   * it, else after what does. A pointer's chunks are fetched meanwhile, and the inbox keeps
   * being read: the fetches of a batch's pointers go out together, and the job's end ('k')
   * is handed on at once, ahead of chunks that may never come (their writer failed).
   */
  private handOn(raw: Buffer): void {
    const kind = peekKind(raw);
    if (kind === 'k') return this.options.onEnvelope(decodeEnvelope(raw));
    if (this.fetchFailed) return;
    if (kind !== 'x' && this.inOrder === undefined) return this.options.onEnvelope(decodeEnvelope(raw));
    const envelope = this.resolve(raw);
    envelope.catch(() => undefined); // handled in its turn, below
    const turn = (this.inOrder ?? Promise.resolve())
      .then(() => envelope)
      .then((resolved) => {
        if (!this.fetchFailed) this.options.onEnvelope(resolved);
      })
      // a fetch that failed, or the agent failing on what it was handed: the job's fault, once
      .catch((error: Error) => {
        if (this.fetchFailed) return;
        this.fetchFailed = true;
        this.fault(error);
      });
    this.inOrder = turn;
    void turn.then(() => {
      if (this.inOrder === turn) this.inOrder = undefined;
    });
  }

  /** The bundles of a collective another agent completed (this agent's own are in its reply). */
  private async onChannelMessage(message: ChannelMessage): Promise<void> {
    if (message.from === this.options.agent) return;
    for (const raw of message.bundles) this.options.onEnvelope(await this.resolve(raw));
  }

  /**
   * What to push to the inboxes for an envelope (`pieces`: envelopePieces of `header` and its
   * body) read by the agents `readers`, and when Redis has stored it: itself, or — if large —
   * a pointer to its chunks, which stream behind it (large-envelopes.ts). `own`: a collective
   * bundle of this agent; it comes back to this one with the others' (in the reply or its
   * inbox) and is answered from here then with its header alone, rather than fetched again.
   */
  private stored(header: EnvelopeHeader, pieces: readonly Buffer[], readers: readonly number[], own = false): [Buffer, Promise<void>] {
    const length = lengthOf(pieces);
    if (length <= LARGE_ENVELOPE_BYTES) return [Buffer.concat(pieces, length), Promise.resolve()];
    const { pointer, stored } = this.large.store(pieces, readers);
    this.holdLeave(stored);
    if (own) this.ownStored.set(pointer.k, header);
    return [encodeEnvelope({ t: 'x', ...pointer }), stored];
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
    const chunks = await this.large.fetch(pointer);
    if (pointer.r > 1) {
      // After the reads (on another connection): the last reader's release deletes the chunks.
      const keys = chunkKeysOf(pointer);
      this.redis
        .mpiRelease(2 + keys.length, this.options.keys.loose(), readCounterOf(pointer.k), ...keys, pointer.r, this.options.ttlMs)
        .catch((error: Error) => this.fault(error));
    }
    return decodeEnvelopePieces(chunks.flat());
  }

  /** Makes leave() wait for `stored` (chunks stored through the payload connection). */
  private holdLeave(stored: Promise<unknown>): void {
    const settled = stored.then(
      () => undefined,
      (error: Error) => this.fault(error),
    );
    const storing = this.storing ? Promise.all([this.storing, settled]).then(() => undefined) : settled;
    this.storing = storing;
    void storing.then(() => {
      if (this.storing === storing) this.storing = undefined;
    });
  }

  private fault(error: Error): void {
    if (!this.stopped) this.options.onFault(error);
  }
}
