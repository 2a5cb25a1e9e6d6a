import { lengthOf, lengthOfParts, splitPieces, type Pieces } from '../protocol/pieces';
import type { CollectiveCall, Envelope, EnvelopeHeader } from '../redis/envelope';
import type { Communicator } from './communicators';
import { EAGER_BYTES } from './collective-results';
import type { HeldBytes } from './held-bytes';

/**
 * The Redis side of a rendezvous (RedisTransport.rendezvous). A bundle's body is its parts
 * back to back; this agent's own bundle may come back without it (it is never read here).
 */
export interface RendezvousPort {
  rendezvous(
    ctx: string,
    seq: number,
    agents: readonly number[],
    header: Extract<EnvelopeHeader, { t: 'g' }>,
    body: readonly Buffer[],
  ): Promise<Envelope[] | null>;
  /** Pushes this agent's bundle to the inboxes of agents `to` (no rendezvous). */
  pushBundle(to: readonly number[], header: Extract<EnvelopeHeader, { t: 'g' }>, body: readonly Buffer[]): void;
}

/**
 * Receives every member's parts, indexed by comm rank, and when (performance.now() ms) the
 * last member of the whole collective contributed, as well as this agent can tell; calls
 * `release` once its rank has been given its result (the parts are held until every member
 * here has been).
 */
type ResultHandler = (all: Pieces[][], allInAt: number, release: () => void) => void;

/** What a member called, to check that all members of a collective called the same. */
export interface CallInfo {
  /** World rank. */
  rank: number;
  /** The call as the user made it (Bcast, allreduce…), or the kind. */
  call: string;
  kind: string;
  root: number | undefined;
  /** The script line of the call ("pi.py:41"), when the rank's shim says. */
  at?: string;
  /** Collectives the rank met in shared memory on the communicator before this one. */
  earlier?: number;
}

interface PendingCollective {
  /**
   * A bcast over three agents or more goes without a rendezvous (`rootPush`): the agent of
   * the root pushes its bundle to every other agent, which completes on it; each of them
   * pushes its members' calls to the root's agent, which checks them (its own ranks have
   * their result at once). Undefined until a local member says what it called.
   */
  rootAgent?: number;
  /** The bcast's root (comm rank), with rootAgent. */
  rootRank?: number;
  /** The root's agent gave its ranks their result; the op waits only for the others' calls. */
  delivered?: boolean;
  localMembers: number;
  /** Collectives met in shared memory before this one (its first member's count): counted in a mismatch's number. */
  earlier?: number;
  calls: CollectiveCall[];
  agents: number[];
  contributions: Map<number, Pieces[]>;
  handlers: ResultHandler[];
  bundles: Map<number, Envelope>;
  sent: boolean;
  /** performance.now() when the last local member contributed. */
  localInAt: number;
  /** Bytes of its contributions and bundles, held (HeldBytes) until its results are taken. */
  held: number;
}

/** From this many agents on, a bcast goes without a rendezvous (PendingCollective.rootAgent). */
const ROOT_PUSH_MIN_AGENTS = 3;

/**
 * Runs collectives at the agent level: the contributions of all ranks this agent hosts go
 * to Redis as one bundle, in one round trip, whatever the number of its ranks. Between two
 * agents each pushes its bundle to the other's inbox; among more, the agent completing the
 * set gets every bundle in the reply and the others find them in their inboxes (or on the
 * job's channel) — see RedisTransport.rendezvous.
 */
export class CollectiveRendezvous {
  private readonly pending = new Map<string, PendingCollective>();
  /**
   * Other agents' bundles for collectives this agent's ranks have not started yet (by
   * key): a bundle pushed straight to this inbox can come first. Held until they start.
   */
  private readonly early = new Map<string, Envelope[]>();

  constructor(
    private readonly agent: number,
    private readonly placement: readonly number[],
    private readonly port: RendezvousPort,
    private readonly heldBytes: HeldBytes,
    /** A collective could not be completed (a bug or broken input): the job must fail. */
    private readonly onError: (error: Error) => void,
    /** Members of a collective made different calls (kind or root): the job must fail. */
    private readonly onMismatch: (message: string) => void = (message) => onError(new Error(message)),
  ) {}

  /** The collectives started here and not complete: for deadlock detection. */
  states(): { key: string; agents: number[]; sent: boolean }[] {
    return [...this.pending].map(([key, op]) => ({ key, agents: op.agents, sent: op.sent }));
  }

  /**
   * Adds comm rank `rank`'s parts to collective `seq` of `comm`; `onResult` (if any) is
   * called with every member's parts once all have contributed.
   */
  contribute(comm: Communicator, seq: number, rank: number, parts: Pieces[], onResult?: ResultHandler, call?: CallInfo): void {
    const key = `${comm.ctx}#${seq}`;
    const op = this.pendingFor(key, comm);
    if (call && op.calls.length === 0 && call.kind === 'bcast' && op.agents.length >= ROOT_PUSH_MIN_AGENTS && call.root !== undefined) {
      op.rootAgent = this.placement[comm.group[call.root] as number];
      op.rootRank = call.root;
    }
    if (call) {
      op.earlier ??= call.earlier;
      op.calls.push([call.rank, call.call, call.kind, call.root ?? null, ...(call.at ? [call.at] : [])] as CollectiveCall);
      // against other agents' calls too: their bundles may have come first
      if (this.checkCalls(comm.ctx, seq, op, [...op.calls, ...this.othersCalls(op)])) return;
    }
    op.contributions.set(rank, parts);
    this.hold(op, call?.rank ?? rank, lengthOfParts(parts));
    if (onResult) op.handlers.push(onResult);
    if (op.contributions.size === op.localMembers) this.send(key, comm.ctx, seq, op);
  }

  /**
   * Another agent's bundle, from this agent's inbox or the job's channel. This agent's own
   * comes back too, from the agent that completed the set: it is ignored (send() counted it).
   */
  onBundle(envelope: Envelope): void {
    const { header } = envelope;
    if (header.t !== 'g' || header.a === this.agent) return;
    const key = `${header.c}#${header.q}`;
    const op = this.pending.get(key);
    if (!op) return this.keepEarly(key, envelope);
    this.addBundle(op, envelope);
    // Checked as bundles come: a bcast pushed by its root meets no rendezvous where a member
    // that called something else would be seen.
    if (header.k && this.checkCalls(header.c, header.q, op, [...op.calls, ...this.othersCalls(op)])) {
      this.pending.delete(key);
      return;
    }
    this.finishIfComplete(key, op);
  }

  /** The calls other agents' bundles of `op` carry (what their members called). */
  private othersCalls(op: PendingCollective): CollectiveCall[] {
    const calls: CollectiveCall[] = [];
    for (const [agent, { header }] of op.bundles) {
      if (agent !== this.agent && header.t === 'g' && header.k) calls.push(...header.k);
    }
    return calls;
  }

  private keepEarly(key: string, envelope: Envelope): void {
    this.heldBytes.hold(lengthOf(envelope.body));
    const early = this.early.get(key);
    if (early) early.push(envelope);
    else this.early.set(key, [envelope]);
  }

  /**
   * Fails the job if the members' calls differ in kind or root (the agent would otherwise
   * pair a bcast with a barrier); returns whether they did.
   */
  private checkCalls(ctx: string, seq: number, op: PendingCollective, calls: readonly CollectiveCall[]): boolean {
    const first = calls[0];
    if (!first || calls.every(([, , kind, root]) => kind === first[2] && root === first[3])) return false;
    const described = [...calls]
      .sort((a, b) => a[0] - b[0])
      .map(([rank, call, , root, at]) => `rank ${rank} called ${call}${root === null ? '' : ` (root ${root})`}${at ? ` at ${at}` : ''}`);
    const where = ctx === 'w' ? 'COMM_WORLD' : `communicator ${ctx}`;
    // numbered among all the communicator's collectives, those met in shared memory too
    this.onMismatch(`collective mismatch on ${where} (collective #${seq + 1 + (op.earlier ?? 0)}): ${described.join(', ')}`);
    return true;
  }

  private pendingFor(key: string, comm: Communicator): PendingCollective {
    let op = this.pending.get(key);
    if (!op) {
      const hosts = comm.group.map((world) => this.placement[world] as number);
      op = {
        localMembers: hosts.filter((host) => host === this.agent).length,
        agents: [...new Set(hosts)],
        calls: [],
        contributions: new Map(),
        handlers: [],
        bundles: new Map(),
        sent: false,
        localInAt: 0,
        held: 0,
      };
      this.pending.set(key, op);
      for (const envelope of this.early.get(key) ?? []) {
        this.heldBytes.release(lengthOf(envelope.body)); // held again, as the collective's
        this.addBundle(op, envelope);
      }
      this.early.delete(key);
    }
    return op;
  }

  private send(key: string, ctx: string, seq: number, op: PendingCollective): void {
    op.sent = true;
    op.localInAt = performance.now();
    if (op.agents.length === 1) return this.completeLocally(key, op);
    const members: [number, number[]][] = [];
    const body: Buffer[] = [];
    for (const [rank, parts] of op.contributions) {
      members.push([rank, parts.map(lengthOf)]);
      for (const part of parts) body.push(...part);
    }
    const header = { t: 'g', c: ctx, q: seq, a: this.agent, n: op.agents.length, m: members, ...(op.calls.length ? { k: op.calls } : {}), l: performance.timeOrigin + op.localInAt } as const;
    // Counted here: its parts are this agent's contributions (finishIfComplete reads those).
    op.bundles.set(this.agent, { header, body: [] });
    if (op.rootAgent !== undefined) return this.sendWithoutRendezvous(key, op, header, body);
    this.port
      .rendezvous(ctx, seq, op.agents, header, body)
      .then((bundles) => {
        if (!bundles) return;
        for (const envelope of bundles) this.addBundle(op, envelope);
        this.finishIfComplete(key, op);
      })
      .catch((error: Error) => this.onError(error));
    // Bundles pushed straight to this agent (between two agents) may all be here already.
    this.finishIfComplete(key, op);
  }

  /**
   * A bcast over three agents or more: its root's agent pushes the data to every other agent
   * and gives its own ranks their result at once; the others push their calls to it and
   * complete when the root's bundle comes (finishIfComplete). Measured against the
   * rendezvous with bench/fanout.mjs ("root pushes to inboxes"): 0.48–0.88x for 8 bytes at
   * 4 and 8 agents, 0.72–1.02x for 8 MiB.
   */
  private sendWithoutRendezvous(key: string, op: PendingCollective, header: Extract<EnvelopeHeader, { t: 'g' }>, body: Buffer[]): void {
    if (op.rootAgent !== this.agent) {
      this.port.pushBundle([op.rootAgent as number], { ...header, m: header.m.map(([rank]) => [rank, []]) }, []);
      return this.finishIfComplete(key, op);
    }
    this.port.pushBundle(
      op.agents.filter((agent) => agent !== this.agent),
      header,
      body,
    );
    // A small bcast's results go out now; a large one's once every agent has joined (the
    // root waits for that too: EAGER_BYTES), so that a root cannot run ahead without bound.
    if (lengthOfParts(op.contributions.get(op.rootRank as number) ?? []) <= EAGER_BYTES) {
      op.delivered = true;
      this.deliverResults(op, localParts(op), op.localInAt);
      op.held = 0; // released with the results; what comes now is the others' calls
    }
    this.finishIfComplete(key, op);
  }

  /**
   * Every member is a rank of this agent: there is nobody to meet in Redis, and a round trip
   * there would only add its latency (a barrier of 2 ranks took 3x one of 1). Redis carries
   * what crosses agents, as shared memory does within a node for Open MPI.
   */
  private completeLocally(key: string, op: PendingCollective): void {
    this.pending.delete(key);
    this.deliverResults(op, localParts(op), op.localInAt);
  }

  private finishIfComplete(key: string, op: PendingCollective): void {
    if (!op.sent || this.pending.get(key) !== op) return;
    // Without a rendezvous, a member of a bcast needs only the root's bundle.
    const needed = op.rootAgent !== undefined && op.rootAgent !== this.agent ? op.bundles.has(op.rootAgent) : op.bundles.size === op.agents.length;
    if (!needed) return;
    this.pending.delete(key);
    const [ctx, seq] = [key.slice(0, key.lastIndexOf('#')), Number(key.slice(key.lastIndexOf('#') + 1))];
    if (this.checkCalls(ctx, seq, op, [...op.calls, ...this.othersCalls(op)])) return;
    if (op.delivered) return this.heldBytes.release(op.held);
    // This agent's members from their contributions: its own bundle may come back bodiless.
    const all = localParts(op);
    // The last arrival anywhere: other agents' clocks (epoch ms) may differ from ours by a
    // little, so it is kept between our own last arrival and now.
    let allInAt = op.localInAt;
    for (const { header } of op.bundles.values()) {
      if (header.t === 'g' && header.l !== undefined) allInAt = Math.max(allInAt, header.l - performance.timeOrigin);
    }
    allInAt = Math.min(allInAt, performance.now());
    for (const { header, body } of op.bundles.values()) {
      if (header.t !== 'g' || header.a === this.agent) continue;
      // The bundle's parts, back to back, as views of its pieces (a large one's chunks).
      const parts = splitPieces(body, header.m.flatMap(([, lengths]) => lengths));
      let next = 0;
      for (const [rank, lengths] of header.m) {
        all[rank] = parts.slice(next, (next += lengths.length));
      }
    }
    this.deliverResults(op, all, allInAt);
  }

  private deliverResults(op: PendingCollective, all: Pieces[][], allInAt: number): void {
    const release = this.heldBytes.releaseAfter(op.held, op.handlers.length);
    for (const handler of op.handlers) handler(all, allInAt, release);
  }

  /** Another agent's bundle (this agent's own comes back with parts it already holds). */
  private addBundle(op: PendingCollective, envelope: Envelope): void {
    const { header } = envelope;
    if (header.t !== 'g' || op.bundles.has(header.a)) return;
    op.bundles.set(header.a, envelope);
    if (header.a !== this.agent) this.hold(op, undefined, lengthOf(envelope.body));
  }

  private hold(op: PendingCollective, rank: number | undefined, bytes: number): void {
    op.held += bytes;
    this.heldBytes.hold(bytes, rank);
  }
}

/** The parts of `op`'s members on this agent, indexed by comm rank. */
function localParts(op: PendingCollective): Pieces[][] {
  const all: Pieces[][] = [];
  for (const [rank, parts] of op.contributions) all[rank] = parts;
  return all;
}
