import type { EnvelopeHeader } from '../redis/envelope';
import type { CollectiveKind } from '../protocol/rank-messages';
import type { Communicator } from './communicators';

/** What the collective engine needs from the rest of the agent. */
export interface CollectivePorts {
  deliver(header: EnvelopeHeader, body?: Buffer): void;
  arrive(ctx: string, seq: number, group: readonly number[], release: EnvelopeHeader): void;
  complete(req: number, parts: Buffer[]): void;
}

/** A collective waiting for contributions from other ranks. */
interface PendingCollective {
  req: number;
  waitingFor: Set<number>;
  received: Map<number, Buffer>;
  finish(received: Map<number, Buffer>): Buffer[];
}

/** Comm rank that marks a barrier release (it comes from Redis, not from a rank). */
const RELEASE = -1;
const EMPTY = Buffer.alloc(0);

const keyOf = (ctx: string, seq: number): string => `${ctx}#${seq}`;

/**
 * Data movement of the collectives for one rank (PROTOCOL.md, "Collectives"). Each
 * collective is numbered per communicator; contributions that arrive before this rank
 * starts that collective wait in `early`.
 */
export class Collectives {
  private readonly pending = new Map<string, PendingCollective>();
  private readonly early = new Map<string, Map<number, Buffer>>();

  constructor(private readonly ports: CollectivePorts) {}

  start(req: number, comm: Communicator, kind: CollectiveKind, root: number, parts: Buffer[]): void {
    const seq = comm.collectives++;
    const size = comm.group.length;
    const me = comm.rank;
    const others = comm.group.filter((_, rank) => rank !== me);
    const send = (to: readonly number[], body?: Buffer): void => {
      if (to.length > 0) this.ports.deliver({ t: 'c', d: [...to], c: comm.ctx, q: seq, s: me }, body);
    };
    const allButMe = Array.from({ length: size }, (_, rank) => rank).filter((rank) => rank !== me);
    const inRankOrder = (mine: Buffer) => (got: Map<number, Buffer>) =>
      Array.from({ length: size }, (_, rank) => (rank === me ? mine : (got.get(rank) as Buffer)));

    switch (kind) {
      case 'barrier':
        if (size === 1) return this.ports.complete(req, []);
        this.ports.arrive(comm.ctx, seq, comm.group, { t: 'c', d: [...comm.group], c: comm.ctx, q: seq, s: RELEASE });
        return this.expect(comm.ctx, seq, req, [RELEASE], () => []);
      case 'bcast':
        if (me === root) {
          send(others, parts[0]);
          return this.ports.complete(req, []);
        }
        return this.expect(comm.ctx, seq, req, [root], (got) => [got.get(root) as Buffer]);
      case 'gather':
        if (me !== root) {
          send([comm.group[root] as number], parts[0]);
          return this.ports.complete(req, []);
        }
        return this.expect(comm.ctx, seq, req, allButMe, inRankOrder(parts[0] ?? EMPTY));
      case 'scatter':
        if (me === root) {
          comm.group.forEach((world, rank) => {
            if (rank !== me) send([world], parts[rank]);
          });
          return this.ports.complete(req, [parts[me] ?? EMPTY]);
        }
        return this.expect(comm.ctx, seq, req, [root], (got) => [got.get(root) as Buffer]);
      case 'allgather':
        send(others, parts[0]);
        return this.expect(comm.ctx, seq, req, allButMe, inRankOrder(parts[0] ?? EMPTY));
      case 'alltoall':
        comm.group.forEach((world, rank) => {
          if (rank !== me) send([world], parts[rank]);
        });
        return this.expect(comm.ctx, seq, req, allButMe, inRankOrder(parts[me] ?? EMPTY));
    }
  }

  /** A contribution (or a barrier release) reached this rank. */
  arrive(ctx: string, seq: number, source: number, body: Buffer): void {
    const key = keyOf(ctx, seq);
    const op = this.pending.get(key);
    if (!op) {
      let bucket = this.early.get(key);
      if (!bucket) this.early.set(key, (bucket = new Map()));
      bucket.set(source, body);
      return;
    }
    op.received.set(source, body);
    op.waitingFor.delete(source);
    if (op.waitingFor.size === 0) this.finish(key, op);
  }

  private expect(
    ctx: string,
    seq: number,
    req: number,
    sources: number[],
    finish: PendingCollective['finish'],
  ): void {
    const key = keyOf(ctx, seq);
    const received = this.early.get(key) ?? new Map<number, Buffer>();
    this.early.delete(key);
    const waitingFor = new Set(sources.filter((source) => !received.has(source)));
    const op: PendingCollective = { req, waitingFor, received, finish };
    if (waitingFor.size === 0) return this.finish(key, op);
    this.pending.set(key, op);
  }

  private finish(key: string, op: PendingCollective): void {
    this.pending.delete(key);
    this.ports.complete(op.req, op.finish(op.received));
  }
}
