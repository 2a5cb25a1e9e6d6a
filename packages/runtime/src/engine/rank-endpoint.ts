import type { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder, type BodySink, type Frame } from '../protocol/frame';
import { joined, lengthOf, lengthOfParts, splitPieces, type Pieces } from '../protocol/pieces';
import { PROTOCOL_VERSION } from '../protocol/version';
import {
  COLLECTIVE_KINDS,
  type CollectiveKind,
  type CompletedRequest,
  type Completion,
  type RankRequest,
  type WaitMode,
} from '../protocol/rank-messages';
import { LARGE_ENVELOPE_BYTES, type Envelope, type EnvelopeHeader } from '../redis/envelope';
import type { OutgoingStream } from '../redis/redis-transport';
import type { PendingOp, RankState } from './blocked-state';
import { foldOnce, foldPlan, type FoldPlan } from './agent-fold';
import type { AgentFiles } from './agent-files';
import { collectiveResult, resultWithoutOthers } from './collective-results';
import type { CollectiveRendezvous } from './collective-rendezvous';
import { CommunicatorTable, type Communicator } from './communicators';
import type { HeldBytes } from './held-bytes';
import { P2PMatcher, type IncomingMessage } from './p2p-matcher';
import { parseRankProfile, type RankProfileReport } from '../launch/profile';

/** What an endpoint needs from the agent that hosts it. */
export interface EndpointPorts {
  /** Sends a point-to-point envelope or an ack through Redis. */
  deliver(header: EnvelopeHeader & { d: number }, body?: Pieces): void;
  /**
   * Sends an envelope to a rank of another agent while its large body is still arriving
   * (undefined: not that way, e.g. to a rank of this agent; then deliver() it once whole).
   */
  deliverStream?(header: EnvelopeHeader & { d: number }, bodyLength: number): OutgoingStream | undefined;
  /** The agent's collective engine, shared by the ranks it hosts. */
  collectives: CollectiveRendezvous;
  /** What the agent holds of the job's data, against its limit (shared by the ranks it hosts). */
  held: HeldBytes;
  /** Where the agent leaves large data for the ranks it hosts (agent-files.ts); absent: through their sockets. */
  files?: AgentFiles;
  /** The rank called MPI_Abort. */
  abort(rank: number, code: number): void;
  /** The members of a collective met in shared memory called different collectives. */
  mismatch(message: string): void;
  /** The rank broke the protocol; the job must fail with this message. */
  protocolError(rank: number, message: string): void;
}

export interface EndpointIdentity {
  rank: number;
  size: number;
  jobId: string;
  host: string;
  /**
   * A folder private to the job where its ranks on this agent may pass large data through
   * files (PROTOCOL.md, "Shared memory"), as the rank sees it; absent: they may not.
   */
  shm?: string;
  /** World ranks on this agent (with `shm`): who can read what a rank leaves there. */
  local?: readonly number[];
  /** Bytes a rank may leave in `shm` (its share of the job's disk); absent: the shim's default. */
  shmBytes?: number;
}

/** Replies up to this size are copied into one buffer before writing. */
const COALESCE_LIMIT = 64 * 1024;
/** Replies waiting to be read by the rank past which its requests stop being read. */
const REPLY_HIGH_WATER = 64 * 1024 * 1024;

const KNOWN_OPS: ReadonlySet<string> = new Set([
  'hello', 'comm', 'free', 'send', 'isend', 'irecv', 'icoll', 'wait', 'test', 'cancel', 'probe', 'abort', 'finalize', 'stack', 'profile', 'threads', 'park', 'unpark', 'mismatch',
]);

/** Where a stuck rank is, as its shim tells it (only ever asked while it is blocked). */
export interface RankStack {
  /** The user's line, e.g. "pi.py:41". */
  where: string | null;
  /** The MPI call it is in, as the user called it ("Reduce", "recv"). */
  call: string | null;
  /** Every thread's stack, the shim's frames left out. */
  stack: string;
}

const STACK_TIMEOUT_MS = 1000;

/** A parked rank's call, as deadlock reports name it (Barrier, Allreduce…). */
const CALL_NAME = /^[A-Za-z_]{1,32}$/;
/** The longest description of a mismatch a rank may give (a few dozen ranks' calls). */
const MISMATCH_TEXT_MAX = 4096;

type Call = Extract<RankRequest, { op: 'wait' | 'test' | 'probe' | 'hello' }>;
/** A call not answered yet: what it asked, and the flush marker it waits for (test, Iprobe). */
interface OpenCall {
  request: Extract<Call, { op: 'wait' | 'test' | 'probe' }>;
  flush?: number;
}

/**
 * The agent's side of one rank: decodes the rank's requests from its socket, runs
 * point-to-point matching and collectives for it, and answers its calls. Calls are numbered
 * in the order they arrive (hello is 0) and answered when they can be, each reply tagged
 * with its call's number (`k`): a rank's threads may have several calls waiting at once,
 * and frames keep being served meanwhile (PROTOCOL.md, "Threads").
 */
export class RankEndpoint {
  private readonly decoder = new FrameDecoder((header, bodyLength) => this.offerBody(header, bodyLength), LARGE_ENVELOPE_BYTES);
  /** The message whose body is streaming out as its frame arrives (offerBody), if one is. */
  private outgoing: OutgoingStream | undefined;
  private readonly comms: CommunicatorTable;
  private readonly matcher = new P2PMatcher();
  /** Requests started and not yet reported complete, with what each waits for. */
  private readonly active = new Map<number, PendingOp | undefined>();
  /** Requests complete and not reported to the rank yet; `release` frees what their parts hold. */
  private readonly completed = new Map<number, CompletedRequest & { release: () => void }>();
  /** Bytes of a frame being read (the decoder's), counted in HeldBytes. */
  private reading = 0;
  /** Why the rank's requests are not being read now (holdReading); empty: they are. */
  private readonly readingHeldFor = new Set<string>();
  /** Sync sends waiting for their ack, by sync id. */
  private readonly syncSends = new Map<string, number>();
  /** Calls waiting for their answer, by call number (in arrival order). */
  private readonly open = new Map<number, OpenCall>();
  /** Calls received so far: the number of the next one. */
  private calls = 0;
  /** The collective the rank sleeps in, met in shared memory (park … unpark), if it does. */
  private parked: PendingOp | undefined;
  /** Threads the rank runs (it says when that changes): it is blocked when that many calls are. */
  private threads = 1;
  /** Markers sent for non-blocking probes/tests. */
  private flushes = 0;
  /** The rank said hello (it imported mpi4py and talked to its agent). */
  greeted = false;
  /** The rank called MPI_Finalize (explicitly or at exit). */
  finalized = false;
  /** Its channel closed: the rank exited (or is exiting). */
  closed = false;
  /** What the rank's shim measured of its MPI calls, sent with finalize (undefined: none). */
  profile: RankProfileReport | undefined;
  private stackWanted: ((stack: RankStack | undefined) => void) | undefined;
  /** Bumped by everything that happens to the rank: what deadlock detection watches. */
  progress = 0;
  /** Rank envelopes this rank sent and this endpoint received (in-flight accounting). */
  sent = 0;
  received = 0;

  constructor(
    private readonly identity: EndpointIdentity,
    private readonly socket: Duplex,
    private readonly ports: EndpointPorts,
  ) {
    this.comms = new CommunicatorTable(identity.rank, identity.size);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A rank that dies closes the socket; its exit status, not this, decides the job.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.progress++;
      // The rank died in the middle of a message: its reader waits for it until the job ends.
      this.outgoing?.abandon();
      this.outgoing = undefined;
    });
  }

  /**
   * Stops reading the rank's requests (it blocks in its next write, once the socket's buffer
   * is full) until resumeReading is called with the same reason: `replies`, the rank leaves
   * its replies unread; `redis`, Redis is behind on what the agent sends.
   */
  holdReading(reason: 'replies' | 'redis'): void {
    if (this.readingHeldFor.size === 0) this.socket.pause();
    this.readingHeldFor.add(reason);
  }

  resumeReading(reason: 'replies' | 'redis'): void {
    if (this.readingHeldFor.delete(reason) && this.readingHeldFor.size === 0) this.socket.resume();
  }

  /** An envelope for this rank arrived from Redis. */
  receive(envelope: Envelope): void {
    const { header, body } = envelope;
    this.progress++;
    if (header.t === 'p' || header.t === 'a' || header.t === 'f') this.received++;
    switch (header.t) {
      case 'p':
        return this.onMessage({
          ctx: header.c,
          source: header.s,
          tag: header.g,
          body,
          bytes: lengthOf(body),
          senderWorld: header.w,
          ...(header.y === undefined ? {} : { syncId: header.y }),
          ...(header.z === undefined ? {} : { shared: header.z }),
        });
      case 'g': // collective bundles go to the agent's CollectiveRendezvous
      case 'x': // pointers are resolved by the transport
      case 'r': // rendezvous and job-end notices are the agent's
      case 'k':
        return;
      case 'a': {
        const req = this.syncSends.get(header.y);
        if (req === undefined) return;
        this.syncSends.delete(header.y);
        return this.complete(req, { req, kind: 'send' }, []);
      }
      case 'f':
        return this.onFlushed(header.n);
    }
  }

  /**
   * The rank's process exited. Its channel's close may come later (or, under load, after the
   * agent's last snapshot): deadlock detection must see it finished now.
   */
  processExited(): void {
    if (this.closed) return;
    this.closed = true;
    this.progress++;
  }

  /** Where the rank is, for deadlock detection and diagnosis. */
  state(): RankState {
    const rank = this.identity.rank;
    if (this.closed) return { rank, state: 'finished' };
    const pending: PendingOp[] = [];
    let blockedCalls = 0;
    if (this.parked) {
      blockedCalls++;
      pending.push(this.parked);
    }
    for (const { request: call } of this.open.values()) {
      if (call.op === 'wait') {
        blockedCalls++;
        for (const req of call.reqs) {
          const op = this.completed.has(req) ? undefined : this.active.get(req);
          if (op) pending.push(op);
        }
      } else if (call.op === 'probe' && call.block) {
        blockedCalls++;
        const comm = this.comms.get(call.ctx);
        pending.push({ op: 'probe', peer: this.peerOf(comm, call.source), tag: call.tag < 0 ? 'any' : call.tag, comm: call.ctx });
      }
    }
    // A thread not in a blocking call may still send what the others wait for.
    if (blockedCalls === 0 || blockedCalls < this.threads) return { rank, state: 'running' };
    return { rank, state: 'blocked', pending };
  }

  /**
   * Asks a rank blocked in an MPI call where it is. Undefined if it is not blocked (its
   * main thread is not reading the channel: user code or a sleep) or does not answer in 1 s.
   */
  requestStack(): Promise<RankStack | undefined> {
    if (this.closed || !this.greeted || (this.open.size === 0 && !this.parked) || this.stackWanted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.onStack(undefined), STACK_TIMEOUT_MS);
      this.stackWanted = (stack) => {
        clearTimeout(timer);
        resolve(stack);
      };
      this.reply({ stack: 1 });
    });
  }

  private onStack(body: Pieces | undefined): void {
    const wanted = this.stackWanted;
    this.stackWanted = undefined;
    if (!wanted) return;
    try {
      wanted(body ? (JSON.parse(joined(body).toString('utf8')) as RankStack) : undefined);
    } catch {
      wanted(undefined);
    }
  }

  private peerOf(comm: Communicator, source: number): number | 'any' {
    return source < 0 ? 'any' : (comm.group[source] ?? source);
  }

  private onData(chunk: Buffer): void {
    this.progress++;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      return this.ports.protocolError(this.identity.rank, `unreadable frame: ${(error as Error).message}`);
    }
    // A frame is held whole before it is handled: count what is read of it so far.
    const reading = this.decoder.pending;
    if (reading !== this.reading) {
      this.ports.held.release(this.reading);
      this.ports.held.hold(reading, this.identity.rank);
      this.reading = reading;
    }
    for (const frame of frames) {
      // A stack answers the agent, not a call.
      if ((frame.header as { op?: unknown } | null)?.op === 'stack') this.onStack(frame.body);
      // A message sent while it arrived (offerBody): nothing is left to do.
      else if (frame.streamed) this.outgoing = undefined;
      else this.handle(frame);
    }
  }

  /**
   * A large message to a rank of another agent leaves while its frame is still arriving: its
   * pointer at once, each 512 KiB chunk through Redis as soon as its bytes are read, rather
   * than after the whole frame (the rank's socket, Redis in, Redis out and the receiver's
   * socket overlap instead of running one after the other). Anything else, or a request that
   * does not check out (answered as usual once whole), is held whole.
   */
  private offerBody(header: Record<string, unknown>, bodyLength: number): BodySink | undefined {
    const request = header as RankRequest;
    const oneway = request.op === 'send' || (request.op === 'isend' && !request.sync);
    if (!oneway || request.shm !== undefined || !this.ports.deliverStream) return undefined;
    let envelope: EnvelopeHeader & { d: number };
    try {
      envelope = this.messageHeader(request.ctx, request.dest, request.tag);
    } catch {
      return undefined;
    }
    const outgoing = this.ports.deliverStream(envelope, bodyLength);
    if (!outgoing) return undefined;
    this.sent++;
    this.outgoing = outgoing;
    return outgoing;
  }

  private handle(frame: Frame): void {
    const header: unknown = frame.header;
    const op = typeof header === 'object' && header !== null ? (header as { op?: unknown }).op : undefined;
    if (typeof op !== 'string' || !KNOWN_OPS.has(op)) {
      return this.ports.protocolError(this.identity.rank, `malformed request (op ${JSON.stringify(op ?? null)})`);
    }
    const request = header as RankRequest;
    const k = isCall(request) ? this.calls++ : -1;
    try {
      this.dispatch(request, frame.body, k);
    } catch (error) {
      const message = (error as Error).message;
      if (isCall(request)) this.answer(k, { error: message });
      else this.ports.protocolError(this.identity.rank, `${request.op}: ${message}`);
    }
  }

  /** k: the call's number (calls only). */
  private dispatch(request: RankRequest, body: Pieces, k: number): void {
    const me = this.identity.rank;
    switch (request.op) {
      case 'hello':
        if (request.v !== PROTOCOL_VERSION) {
          throw new Error(`protocol version ${request.v} is not supported (agent speaks ${PROTOCOL_VERSION})`);
        }
        this.greeted = true;
        return this.answer(k, { ...this.identity, v: PROTOCOL_VERSION });
      case 'comm':
        return this.comms.add(request.ctx, request.group, me);
      case 'free':
        return this.comms.remove(request.ctx);
      case 'send':
        return this.sendMessage(request.ctx, request.dest, request.tag, body, undefined, request.shm);
      case 'isend': {
        if (!request.sync) return this.sendMessage(request.ctx, request.dest, request.tag, body, undefined, request.shm);
        const syncId = `${me}:${request.req}`;
        const comm = this.comms.get(request.ctx);
        this.active.set(request.req, { op: 'ssend', peer: comm.group[request.dest] ?? request.dest, tag: request.tag, comm: request.ctx });
        this.syncSends.set(syncId, request.req);
        return this.sendMessage(request.ctx, request.dest, request.tag, body, syncId, request.shm);
      }
      case 'irecv': {
        const comm = this.comms.get(request.ctx);
        this.active.set(request.req, { op: 'recv', peer: this.peerOf(comm, request.source), tag: request.tag < 0 ? 'any' : request.tag, comm: request.ctx });
        const msg = this.matcher.post({ req: request.req, ctx: request.ctx, source: request.source, tag: request.tag });
        if (msg) this.completeReceive(request.req, msg);
        return;
      }
      case 'icoll': {
        const comm = this.comms.get(request.ctx);
        if (!COLLECTIVE_KINDS.includes(request.coll)) throw new Error(`unknown collective '${String(request.coll)}'`);
        const root = request.root ?? 0;
        if (root < 0 || root >= comm.group.length) throw new Error(`root ${root} is out of range`);
        if (request.m !== undefined && !(Number.isSafeInteger(request.m) && request.m >= 0)) throw new Error('m must be a count of collectives');
        this.active.set(request.req, { op: request.name ?? request.coll, comm: request.ctx, ...(rootedCollective(request.coll) ? { root } : {}), collective: true });
        const fold = request.fold !== undefined && request.coll === 'allgather' ? { spec: request.fold, plan: foldPlan(request.fold) } : undefined;
        return this.startCollective(request.req, comm, request.coll, root, splitPieces(body, request.parts ?? []), request.name, request.at, fold, request.m);
      }
      case 'wait':
      case 'test':
        if (!Array.isArray(request.reqs) || new Set(request.reqs).size !== request.reqs.length) {
          throw new Error('reqs must be a list of distinct request ids');
        }
        for (const req of request.reqs) {
          if (!this.active.has(req)) throw new Error(`request ${req} is not active`);
        }
        if (this.answerWait(k, request.reqs, request.mode, false)) return;
        this.open.set(k, request.op === 'test' ? { request, flush: this.flush() } : { request });
        return;
      case 'cancel':
        if (this.matcher.cancel(request.req)) this.complete(request.req, { req: request.req, kind: 'cancelled' }, []);
        return;
      case 'probe': {
        this.comms.get(request.ctx);
        if (request.claim !== undefined && this.active.has(request.claim)) throw new Error(`request ${request.claim} is already active`);
        const msg = this.matcher.probe(request.ctx, request.source, request.tag);
        if (msg) return this.answerProbe(k, request, msg);
        this.open.set(k, request.block ? { request } : { request, flush: this.flush() });
        return;
      }
      case 'abort':
        return this.ports.abort(me, request.code);
      case 'finalize':
        this.finalized = true;
        return;
      case 'profile':
        this.profile = parseRankProfile(joined(body));
        return;
      case 'threads':
        if (!Number.isInteger(request.n) || request.n < 1) throw new Error('n must be a positive integer');
        this.threads = request.n;
        return;
      case 'stack':
        // Handled in onData.
        return;
      case 'park': {
        // what a deadlock report will say: a known communicator and a call's name, nothing else
        this.comms.get(request.ctx);
        if (typeof request.name !== 'string' || !CALL_NAME.test(request.name)) throw new Error('park needs the name of an MPI call');
        if (request.root !== undefined && !Number.isInteger(request.root)) throw new Error('root must be an integer');
        this.parked = { op: request.name, comm: request.ctx, ...(request.root === undefined ? {} : { root: request.root }), collective: true };
        return;
      }
      case 'unpark':
        this.parked = undefined;
        return;
      case 'mismatch':
        // the job's reason, as the agent words its own: nothing a rank could dress up as another
        if (typeof request.text !== 'string' || !request.text.startsWith('collective mismatch on ')) throw new Error('mismatch needs its description');
        return this.ports.mismatch(request.text.slice(0, MISMATCH_TEXT_MAX));
    }
  }

  /**
   * fold: the rank asks for the reduction of an allgather (an Allreduce) rather than the
   * parts (agent-fold.ts); it gets the parts when the agent cannot fold them.
   */
  private startCollective(
    req: number,
    comm: Communicator,
    kind: CollectiveKind,
    root: number,
    parts: Pieces[],
    name?: string,
    at?: string,
    fold?: { spec: string; plan: FoldPlan },
    earlier?: number,
  ): void {
    const seq = comm.collectives++;
    const me = comm.rank;
    const contributedAt = performance.now();
    const finish = (result: Pieces[], waitedUs = 0, release?: () => void): void =>
      this.complete(req, { req, kind: 'coll', counts: result.map(lengthOf), ...(waitedUs > 0 ? { w: waitedUs } : {}) }, result, release);
    const finishAll = (all: Pieces[][], allInAt: number, release: () => void): void => {
      try {
        const reduced = fold ? foldOnce(fold.spec, fold.plan, all) : undefined;
        const waitedUs = Math.round((allInAt - contributedAt) * 1000);
        const filing = kind === 'bcast' && me !== root ? this.filedBcast(comm, root, all) : undefined;
        if (filing) {
          void filing.then((filed) => finish(filed ? [[], [filed]] : collectiveResult(kind, root, me, all), waitedUs, release));
          return;
        }
        finish(reduced ? [[reduced]] : collectiveResult(kind, root, me, all), waitedUs, release);
      } catch (error) {
        this.ports.protocolError(me, `${kind}: ${(error as Error).message}`);
      }
    };
    if (comm.group.length === 1) return finish(collectiveResult(kind, root, me, [parts]));
    const early = resultWithoutOthers(kind, root, me, parts);
    this.ports.collectives.contribute(
      comm,
      seq,
      me,
      parts,
      early ? undefined : finishAll,
      { rank: this.identity.rank, call: name ?? kind, kind, root: rootedCollective(kind) ? root : undefined, ...(at ? { at } : {}), ...(earlier ? { earlier } : {}) },
    );
    if (early) finish(early);
  }

  /**
   * The reference (to come) to a file holding a bcast's data for this agent's members (the
   * root's one part, come through Redis or through this agent's socket), written once for all
   * of them; undefined at once for the root's part as it is: small, a file already, or a
   * single receiver here. (To one rank the socket is as quick: the agent writes while the
   * rank reads, where a file is written, then read. Measured, 4 MiB ping-pong over two agents:
   * 1.08x the socket's time through files; bcast 8 MiB at np 8 over two agents, 4 receivers
   * per agent: 0.60-0.77x.)
   */
  private filedBcast(comm: Communicator, root: number, all: readonly (readonly Pieces[])[]): Promise<Buffer | undefined> | undefined {
    const { files } = this.ports;
    const parts = all[root];
    // before the members are listed: most bcasts are small, and every member asks
    if (!files || parts?.length !== 1 || !files.takes(lengthOf(parts[0] as Pieces))) return undefined;
    const local = this.identity.local ?? [];
    const members = comm.group.filter((world, rank) => rank !== root && local.includes(world));
    return files.leaveOnce(all, members, parts[0] as Pieces);
  }

  /** shm: the body is a reference to a shared-memory file of this many bytes (the rank's `shm`). */
  private sendMessage(ctx: string, dest: number, tag: number, body: Pieces, syncId?: string, shm?: unknown): void {
    const header = this.messageHeader(ctx, dest, tag);
    const to = header.d;
    if (syncId !== undefined) header.y = syncId;
    if (shm !== undefined) {
      if (!Number.isSafeInteger(shm) || (shm as number) < 0) throw new Error('shm must be a whole number of bytes');
      // the file is on this host: only a rank of this agent can read it
      if (!this.identity.local?.includes(to)) throw new Error(`a message left in shared memory for rank ${to}, which is not on this agent`);
      header.z = shm as number;
    }
    this.deliver(header, body);
  }

  /** The envelope of a message to rank `dest` of communicator `ctx`; throws if there is no such rank. */
  private messageHeader(ctx: string, dest: number, tag: number): EnvelopeHeader & { t: 'p'; d: number } {
    const comm = this.comms.get(ctx);
    const to = comm.group[dest];
    if (to === undefined) throw new Error(`destination rank ${dest} is out of range (size ${comm.group.length})`);
    return { t: 'p', d: to, c: ctx, s: comm.rank, w: this.identity.rank, g: tag };
  }

  /** Every rank envelope leaves through here: counted, for the in-flight check. */
  private deliver(header: EnvelopeHeader & { d: number }, body?: Pieces): void {
    this.sent++;
    this.ports.deliver(header, body);
  }

  private onMessage(msg: IncomingMessage): void {
    // Held until the rank has it (a rank sent more than it receives grows the agent).
    this.ports.held.hold(msg.bytes, this.identity.rank);
    const recv = this.matcher.arrive(msg);
    if (recv) return this.completeReceive(recv.req, msg);
    for (const [k, { request: probe }] of this.open) {
      if (probe.op === 'probe' && this.matcher.probe(probe.ctx, probe.source, probe.tag) === msg) {
        this.open.delete(k);
        this.answerProbe(k, probe, msg);
      }
    }
  }

  /** A probe found msg; a matched probe takes it at once with its claimed receive. */
  private answerProbe(k: number, probe: Extract<RankRequest, { op: 'probe' }>, msg: IncomingMessage): void {
    if (probe.claim !== undefined) {
      const req = probe.claim;
      const comm = this.comms.get(probe.ctx);
      this.active.set(req, { op: 'recv', peer: this.peerOf(comm, msg.source), tag: msg.tag, comm: probe.ctx });
      // the first message from that source with that tag: the probed one (non-overtaking)
      const taken = this.matcher.post({ req, ctx: probe.ctx, source: msg.source, tag: msg.tag });
      if (taken) this.completeReceive(req, taken);
    }
    this.answer(k, probeReply(msg));
  }

  private completeReceive(req: number, msg: IncomingMessage): void {
    if (msg.syncId !== undefined) this.deliver({ t: 'a', d: msg.senderWorld, y: msg.syncId });
    const shared = msg.shared === undefined ? {} : { shm: msg.shared };
    this.complete(req, { req, kind: 'recv', source: msg.source, tag: msg.tag, count: msg.bytes, ...shared }, [msg.body], () =>
      this.ports.held.release(msg.bytes),
    );
  }

  /**
   * release: frees what the parts hold once the rank has them (a message's or a collective's
   * bytes, held since they arrived); without it the parts are held from now on.
   */
  private complete(req: number, completion: Completion, parts: Pieces[], release?: () => void): void {
    this.progress++;
    if (!release) {
      const bytes = lengthOfParts(parts);
      this.ports.held.hold(bytes, this.identity.rank);
      release = () => this.ports.held.release(bytes);
    }
    this.completed.set(req, { completion, parts, release });
    for (const [k, { request: call }] of this.open) {
      if (call.op !== 'wait' && call.op !== 'test') continue;
      if (!call.reqs.includes(req)) continue;
      if (this.answerWait(k, call.reqs, call.mode, false)) {
        this.open.delete(k);
        return; // the completion is taken: no other call can be answered by it
      }
    }
  }

  /**
   * A non-blocking probe or test that found nothing: MPI programs expect a message a rank
   * sent to itself, or the ack of a sync send its own receive matched, to be visible at
   * once, but both travel through Redis. The call is answered when the marker sent now
   * comes back through the inbox, behind them (or earlier, if what it looks for arrives).
   */
  private flush(): number {
    const n = ++this.flushes;
    this.deliver({ t: 'f', d: this.identity.rank, n });
    return n;
  }

  private onFlushed(n: number): void {
    for (const [k, call] of this.open) {
      if (call.flush !== n) continue;
      this.open.delete(k);
      const { request } = call;
      if (request.op === 'test') this.answerWait(k, request.reqs, request.mode, true);
      else this.answer(k, { found: false });
      return;
    }
  }

  /** Answers wait/test call k if it can be answered now; returns whether it was. */
  private answerWait(k: number, reqs: number[], mode: WaitMode, isTest: boolean): boolean {
    const ready = reqs.filter((req) => this.completed.has(req));
    let report: number[];
    if (reqs.length === 0) report = [];
    else if (mode === 'all') report = ready.length === reqs.length ? reqs : [];
    else if (mode === 'any') report = ready.slice(0, 1);
    else report = ready;
    if (report.length === 0 && reqs.length > 0 && !isTest) return false;
    const done: Completion[] = [];
    const lengths: number[] = [];
    const pieces: Buffer[] = [];
    for (const req of report) {
      const result = this.completed.get(req) as CompletedRequest & { release: () => void };
      this.completed.delete(req);
      result.release();
      this.active.delete(req);
      done.push(result.completion);
      for (const part of result.parts) {
        lengths.push(lengthOf(part));
        pieces.push(...part);
      }
    }
    this.answer(k, { done, parts: lengths }, pieces);
    return true;
  }

  /** header: a fresh object of the caller's (it is tagged in place, not copied: a reply per call). */
  private answer(k: number, header: Record<string, unknown>, parts: Buffer[] = []): void {
    header.k = k;
    this.reply(header, parts);
  }

  private reply(header: object, parts: Buffer[] = []): void {
    // One write per reply: small replies are joined (cheaper than a writev of pieces), big
    // payloads are written as they are, without a copy.
    const buffers = encodeFrame(header, parts);
    const total = lengthOf(buffers);
    if (total <= COALESCE_LIMIT) this.socket.write(Buffer.concat(buffers, total));
    else for (const buffer of buffers) this.socket.write(buffer);
    // A rank that does not read its replies must not make the agent buffer them without end.
    if (this.socket.writableLength > REPLY_HIGH_WATER && !this.readingHeldFor.has('replies')) {
      this.holdReading('replies');
      this.socket.once('drain', () => this.resumeReading('replies'));
    }
  }
}

/** Collectives whose root matters (all members must name the same). */
function rootedCollective(kind: CollectiveKind): boolean {
  return kind === 'bcast' || kind === 'gather' || kind === 'scatter';
}

function isCall(request: RankRequest): request is Call {
  return request.op === 'wait' || request.op === 'test' || request.op === 'probe' || request.op === 'hello';
}

function probeReply(msg: IncomingMessage): Record<string, unknown> {
  return { found: true, source: msg.source, tag: msg.tag, count: msg.shared ?? msg.bytes };
}
