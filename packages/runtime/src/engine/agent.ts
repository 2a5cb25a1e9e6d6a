import type { Duplex } from 'node:stream';
import type { Envelope, EnvelopeHeader, ShareVerdict } from '../redis/envelope';
import type { OutgoingStream } from '../redis/redis-transport';
import type { AgentSnapshot } from './blocked-state';
import { CollectiveRendezvous, type RendezvousPort } from './collective-rendezvous';
import { lengthOf } from '../protocol/pieces';
import { DEFAULT_MAX_HELD_BYTES, HeldBytes } from './held-bytes';
import { AgentFiles } from './agent-files';
import { RankEndpoint } from './rank-endpoint';

export interface AgentHooks {
  /** A rank called MPI_Abort. */
  abort(rank: number, code: number): void;
  /** A rank broke the protocol. */
  protocolError(rank: number, message: string): void;
  /** The agent could not handle rank traffic (not Redis's fault, not one rank's). */
  internalError(error: Error): void;
  /** Every agent of the job arrived at the start rendezvous. */
  ready?(): void;
  /** Another agent ended the job: stop this agent's ranks with its verdict. */
  ended?(from: number, verdict: ShareVerdict): void;
  /** The members of a collective made different calls. */
  mismatch?(message: string): void;
  /**
   * The agent holds more of the job's data than it may (HeldBytes); `rank`: the hosted rank
   * whose traffic took it over, if one did. By default a protocol error of that rank.
   */
  heldTooMuch?(message: string, rank: number | undefined): void;
}

/** What an agent sends through: Redis (RedisTransport), or a loopback for a job of one agent (local-agent.ts). */
export interface AgentTransport extends RendezvousPort {
  /**
   * An envelope for a rank of another agent, or a flush marker for one of this agent's;
   * resolves (never rejects) once it is on its way out of this process (Redis has it).
   */
  deliver(header: EnvelopeHeader & { d: number }, body?: readonly Buffer[]): Promise<void> | void;
  /**
   * An envelope for a rank of another agent whose large body is still arriving from its rank,
   * sent as it comes (absent: the transport has no such way; the body is held whole first).
   */
  deliverStream?(header: EnvelopeHeader & { d: number }, bodyLength: number): OutgoingStream;
}

export interface AgentOptions {
  /** This agent's index among the job's agents. */
  agent: number;
  /** Agent index hosting each world rank. */
  placement: readonly number[];
  jobId: string;
  host: string;
  transport: AgentTransport;
  hooks: AgentHooks;
  /** Where this agent's ranks pass large data to each other; absent: through the agent. */
  sharedMemory?: SharedMemory;
  /** Bytes of the job's data the agent may hold (HeldBytes). @defaultValue 2 GiB */
  maxHeldBytes?: number;
  /**
   * Bytes sent towards other agents that Redis does not have yet past which the agent stops
   * reading its ranks, until half of them are there. @defaultValue 64 MiB
   */
  outboundHighWater?: number;
}

const OUTBOUND_HIGH_WATER = 64 * 1024 ** 2;

/**
 * A folder, as the ranks see it, private to the job and writable by its ranks: those of one
 * agent pass large bcasts and messages to each other through files there instead of through
 * the agent (PROTOCOL.md, "Shared memory").
 */
export interface SharedMemory {
  /** The folder as the ranks see it. */
  dir: string;
  /**
   * The same folder as the agent sees it, when the ranks see it elsewhere (a sandbox's /tmp).
   * The agent opens it at once, before any rank runs (agent-files.ts). @defaultValue dir
   */
  agentDir?: string;
  /**
   * Bytes the agent and its ranks may leave there in all (they count against the job's disk
   * limit), split evenly among them. @defaultValue 64 MiB each (the shim's)
   */
  bytes?: number;
}

/** What the agent may keep in files of its own when SharedMemory.bytes is not given. */
const DEFAULT_AGENT_FILE_BYTES = 64 * 1024 ** 2;

/**
 * One job's agent on one host: the endpoints of the ranks it hosts and the collective
 * engine they share, wired to the Redis transport.
 */
export class Agent {
  private readonly endpoints = new Map<number, RankEndpoint>();
  /**
   * Envelopes for hosted ranks not attached yet: another agent's ranks may start (and send)
   * as soon as the rendezvous completes, before this agent has spawned its own.
   */
  private readonly early = new Map<number, Envelope[]>();
  private readonly collectives: CollectiveRendezvous;
  private readonly held: HeldBytes;
  /** Bytes of envelopes handed to the transport and not in Redis yet. */
  private outbound = 0;
  /** Its ranks are not read until Redis catches up (outboundHighWater). */
  private throttled = false;
  /** Rank envelopes that arrived for no rank of this agent (counted as received). */
  private dropped = 0;
  /** Where the agent leaves large data for its ranks (none without a shared-memory folder, or if it could not be opened). */
  private readonly files: AgentFiles | undefined;
  /** What each rank is told of the shared-memory folder (EndpointIdentity.shm). */
  private readonly sharedMemory: { shm: string; local: readonly number[]; shmBytes?: number } | undefined;

  constructor(private readonly options: AgentOptions) {
    const { hooks } = options;
    const local = options.placement.flatMap((agent, rank) => (agent === options.agent ? [rank] : []));
    const shared = options.sharedMemory;
    // With two ranks or more the agent may leave a bcast for them in a file of its own: its
    // files take a share of the folder as a rank's do.
    this.files =
      shared === undefined || local.length < 2
        ? undefined
        : openAgentFiles(shared.agentDir ?? shared.dir, options.agent, shared.bytes === undefined ? DEFAULT_AGENT_FILE_BYTES : Math.floor(shared.bytes / (local.length + 1)));
    const sharers = Math.max(1, local.length + (this.files ? 1 : 0));
    const shareBytes = shared?.bytes === undefined ? undefined : Math.floor(shared.bytes / sharers);
    this.sharedMemory = shared === undefined ? undefined : { shm: shared.dir, local, ...(shareBytes === undefined ? {} : { shmBytes: shareBytes }) };
    this.held = new HeldBytes(options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES, (message, rank) => {
      if (hooks.heldTooMuch) hooks.heldTooMuch(message, rank);
      else if (rank !== undefined) hooks.protocolError(rank, message);
      else hooks.internalError(new Error(message));
    });
    this.collectives = new CollectiveRendezvous(
      options.agent,
      options.placement,
      options.transport,
      this.held,
      (error) => options.hooks.internalError(error),
      (message) => this.mismatch(message),
    );
  }

  /**
   * Members of a collective called different ones (found here, or by ranks that met in shared
   * memory): the hook's to report, an internal error without one.
   */
  private mismatch(message: string): void {
    const { hooks } = this.options;
    if (hooks.mismatch) hooks.mismatch(message);
    else hooks.internalError(new Error(message));
  }

  /** Closes what the agent holds open (its files in the shared-memory folder), once its ranks are gone. */
  close(): void {
    this.files?.close();
  }

  /** Where every hosted rank is and what is in flight: for deadlock detection. */
  snapshot(): AgentSnapshot {
    const hosted = this.options.placement.filter((agent) => agent === this.options.agent).length;
    let sent = 0;
    let received = 0;
    let progress = this.dropped;
    const ranks = [];
    for (const endpoint of this.endpoints.values()) {
      sent += endpoint.sent;
      received += endpoint.received;
      progress += endpoint.progress;
      ranks.push(endpoint.state());
    }
    // Envelopes for ranks not attached yet (or gone) count as received when they arrive.
    received += this.dropped;
    for (const queue of this.early.values()) received += queue.length;
    return {
      agent: this.options.agent,
      sent,
      received,
      progress,
      complete: this.endpoints.size === hosted,
      ranks,
      collectives: this.collectives.states(),
    };
  }

  /** Bytes of the job's data this agent holds now (HeldBytes). */
  get heldBytes(): number {
    return this.held.total;
  }

  /** Serves world rank `rank` over its channel socket. */
  attach(rank: number, channel: Duplex): RankEndpoint {
    const { hooks } = this.options;
    const endpoint = new RankEndpoint(
      { rank, size: this.options.placement.length, jobId: this.options.jobId, host: this.options.host, ...this.sharedMemory },
      channel,
      {
        deliver: (header, body) => this.deliver(header, body),
        deliverStream: (header, bodyLength) => this.deliverStream(header, bodyLength),
        collectives: this.collectives,
        held: this.held,
        ...(this.files ? { files: this.files } : {}),
        abort: (from, code) => hooks.abort(from, code),
        mismatch: (message) => this.mismatch(message),
        protocolError: (from, message) => hooks.protocolError(from, message),
      },
    );
    this.endpoints.set(rank, endpoint);
    if (this.throttled) endpoint.holdReading('redis');
    const waiting = this.early.get(rank);
    this.early.delete(rank);
    for (const envelope of waiting ?? []) {
      this.held.release(lengthOf(envelope.body)); // the endpoint holds what it keeps
      endpoint.receive(envelope);
    }
    return endpoint;
  }

  /**
   * Sends a rank envelope. One for a rank of this agent goes straight to it (after the
   * current frame is handled, as if it had come back from Redis, so no endpoint is re-entered):
   * a round trip to its own inbox would only add latency (ping-pong took 2 of them per
   * message). Redis carries what crosses agents. Flush markers still go through the inbox:
   * they come back behind what other agents had already pushed there.
   */
  private deliver(header: EnvelopeHeader & { d: number }, body: readonly Buffer[] = []): void {
    if (header.t === 'f' || this.options.placement[header.d] !== this.options.agent) {
      const sent = this.options.transport.deliver(header, body);
      if (sent && body.length) this.countOutbound(lengthOf(body), sent);
      return;
    }
    const envelope: Envelope = { header, body };
    queueMicrotask(() => this.onEnvelope(envelope));
  }

  /** A message to a rank of another agent, sent while its body arrives (undefined: not that way). */
  private deliverStream(header: EnvelopeHeader & { d: number }, bodyLength: number): OutgoingStream | undefined {
    const { transport, placement, agent } = this.options;
    if (!transport.deliverStream || placement[header.d] === agent) return undefined;
    const stream = transport.deliverStream(header, bodyLength);
    this.countOutbound(bodyLength, stream.sent);
    return stream;
  }

  /**
   * A rank writes to its socket faster than Redis takes it in (a few GB/s against about
   * one): what Redis does not have yet waits in this process, so past a high-water mark the
   * agent stops reading its ranks (their sends block, as on a full network) until Redis has
   * caught up with half of it.
   */
  private countOutbound(bytes: number, sent: Promise<void>): void {
    const highWater = this.options.outboundHighWater ?? OUTBOUND_HIGH_WATER;
    this.outbound += bytes;
    if (!this.throttled && this.outbound > highWater) {
      this.throttled = true;
      for (const endpoint of this.endpoints.values()) endpoint.holdReading('redis');
    }
    void sent.then(() => {
      this.outbound -= bytes;
      if (this.throttled && this.outbound <= highWater / 2) {
        this.throttled = false;
        for (const endpoint of this.endpoints.values()) endpoint.resumeReading('redis');
      }
    });
  }

  /** Routes an envelope from this agent's inbox. */
  onEnvelope(envelope: Envelope): void {
    try {
      this.route(envelope);
    } catch (error) {
      this.options.hooks.internalError(error as Error);
    }
  }

  private route(envelope: Envelope): void {
    const { header } = envelope;
    switch (header.t) {
      case 'g':
        return this.collectives.onBundle(envelope);
      case 'r':
        return this.options.hooks.ready?.();
      case 'k':
        return this.options.hooks.ended?.(header.a, header.v);
      case 'x':
        // Pointers are resolved by the transport before they get here.
        return;
      case 'p':
      case 'a':
      case 'f': {
        const endpoint = this.endpoints.get(header.d);
        if (endpoint) endpoint.receive(envelope);
        else if (this.options.placement[header.d] === this.options.agent) this.queueEarly(header.d, envelope);
        else this.dropped++;
      }
    }
  }

  private queueEarly(rank: number, envelope: Envelope): void {
    this.held.hold(lengthOf(envelope.body), rank);
    const queue = this.early.get(rank) ?? [];
    queue.push(envelope);
    this.early.set(rank, queue);
  }
}

/** The agent's files in `dir`, or none when the folder cannot be opened (the ranks' own files still work). */
function openAgentFiles(dir: string, agent: number, budget: number): AgentFiles | undefined {
  try {
    return new AgentFiles(dir, agent, budget);
  } catch {
    return undefined;
  }
}
