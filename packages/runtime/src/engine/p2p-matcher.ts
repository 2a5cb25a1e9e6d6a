import { ANY } from '../protocol/rank-messages';

/** A point-to-point message that reached a rank. */
export interface IncomingMessage {
  ctx: string;
  /** Sender's rank in the communicator. */
  source: number;
  tag: number;
  /** Its bytes as pieces (pieces.ts). */
  body: readonly Buffer[];
  /** How many bytes the body holds. */
  bytes: number;
  /** The body is a reference to a shared-memory file holding this many bytes: the message's size. */
  shared?: number;
  /** Sender's world rank, where a sync ack goes. */
  senderWorld: number;
  /** Set when the sender waits for the match (Ssend/Issend). */
  syncId?: string;
}

/** A receive a rank has posted and not yet had matched. */
export interface PostedReceive {
  req: number;
  ctx: string;
  source: number;
  tag: number;
}

function matches(recv: { ctx: string; source: number; tag: number }, msg: IncomingMessage): boolean {
  return (
    recv.ctx === msg.ctx &&
    (recv.source === ANY || recv.source === msg.source) &&
    (recv.tag === ANY || recv.tag === msg.tag)
  );
}

/**
 * MPI matching for one rank: messages that arrive first wait in the unexpected queue,
 * receives posted first wait in the posted queue; each side is searched in order, which
 * keeps MPI's rule that a receive takes the oldest matching message.
 */
export class P2PMatcher {
  private readonly unexpected: IncomingMessage[] = [];
  private readonly posted: PostedReceive[] = [];

  /** Returns the posted receive the message completes, or queues the message. */
  arrive(msg: IncomingMessage): PostedReceive | undefined {
    const index = this.posted.findIndex((recv) => matches(recv, msg));
    if (index < 0) {
      this.unexpected.push(msg);
      return undefined;
    }
    return this.posted.splice(index, 1)[0];
  }

  /** Returns the queued message the receive takes, or queues the receive. */
  post(recv: PostedReceive): IncomingMessage | undefined {
    const index = this.unexpected.findIndex((msg) => matches(recv, msg));
    if (index < 0) {
      this.posted.push(recv);
      return undefined;
    }
    return this.unexpected.splice(index, 1)[0];
  }

  /** The oldest queued message a receive with these criteria would take, left in place. */
  probe(ctx: string, source: number, tag: number): IncomingMessage | undefined {
    return this.unexpected.find((msg) => matches({ ctx, source, tag }, msg));
  }

  /** Withdraws a posted receive; false if it was already matched (or never posted). */
  cancel(req: number): boolean {
    const index = this.posted.findIndex((recv) => recv.req === req);
    if (index < 0) return false;
    this.posted.splice(index, 1);
    return true;
  }
}
