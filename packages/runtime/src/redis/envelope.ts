/**
 * The unit of rank traffic stored in an agent's inbox: `u32 LE headerLen | JSON | body`.
 */

export type EnvelopeHeader =
  /** Point-to-point message to world rank `d` from comm rank `s` (world rank `w`); `y` asks for a sync ack. */
  | { t: 'p'; d: number; c: string; s: number; w: number; g: number; y?: string; z?: number }
  /** Acknowledges to world rank `d` that its sync send `y` was matched. */
  | { t: 'a'; d: number; y: string }
  /**
   * A flush marker world rank `d`'s agent sends to its own inbox when the rank's
   * non-blocking probe or test finds nothing: everything this agent delivered before it
   * (a rank's send to itself, the ack of a sync send a local rank matched) is in the inbox
   * ahead of it, so the answer waits for the marker. `n` numbers the rank's markers.
   */
  | { t: 'f'; d: number; n: number }
  /**
   * One agent's bundle for collective number `q` on context `c`: the contributions of the
   * ranks it hosts, `m` = [[comm rank, [part lengths]], ...], parts back to back in the body.
   * `n` is how many agents take part, so a receiver knows when it has every bundle. `k`:
   * the call each member made, so that every agent checks they all made the same one.
   */
  // l: epoch ms (fractional) at which the bundle's last local member contributed.
  | { t: 'g'; c: string; q: number; a: number; n: number; m: [number, number[]][]; k?: CollectiveCall[]; l?: number }
  /**
   * Stands for a large envelope stored on its own in `c` plain string keys `k:0` … `k:<c-1>`
   * (lists and Lua scripts copy what they hold; string keys move it in and out once, and in
   * chunks Redis neither grows one huge buffer nor stalls other clients on it). `r` agents
   * read it; the last one deletes it.
   */
  | { t: 'x'; k: string; r: number; c: number }
  /**
   * Every agent of the job has arrived (the last arrival pushes it to all inboxes): ranks
   * may start. Jobs with one agent skip the rendezvous.
   */
  | { t: 'r' }
  /**
   * The job is over for every agent: agent `a` saw it end (a rank failed, a limit, a cancel,
   * a lost worker) and every other agent stops its ranks with the same verdict `v`.
   */
  | { t: 'k'; a: number; v: ShareVerdict };

/** Why a job ended early, as agents tell each other (see ShareVerdict in agent-share). */
export interface ShareVerdict {
  status: 'FAILED' | 'TIMED_OUT' | 'CANCELLED';
  exitCode: number;
  reason: string;
  failedRank?: number;
  /** The infrastructure's fault (a lost worker or Redis), not the script's: worth a retry. */
  infrastructure?: boolean;
  /** When the agent saw it (ms since the epoch): the earliest of several wins. */
  at: number;
}

/**
 * Envelopes above this size travel as chunks in plain string keys plus a small pointer ('x'):
 * Lua and list operations copy their arguments several times, a SET/GET pair moves them once.
 */
export const LARGE_ENVELOPE_BYTES = 64 * 1024;

export interface Envelope {
  header: EnvelopeHeader;
  /** The body as pieces (pieces.ts): one view of a small envelope, a large one's chunks. */
  body: readonly Buffer[];
}

export function encodeEnvelope(header: EnvelopeHeader, body: readonly Buffer[] = []): Buffer {
  return Buffer.concat(envelopePieces(header, body));
}

/** encodeEnvelope's bytes as pieces, the body's buffers among them: not joined (or copied). */
export function envelopePieces(header: EnvelopeHeader, body: readonly Buffer[] = []): Buffer[] {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32LE(json.length, 0);
  return [prefix, json, ...body];
}

export function decodeEnvelope(raw: Buffer): Envelope {
  return decodeEnvelopePieces([raw]);
}

/**
 * An envelope from the pieces its bytes are in (a large one's chunks, as fetched): the body
 * is views of them. Only a header that does not lie within the first piece is joined, from
 * as many pieces as it spans.
 */
export function decodeEnvelopePieces(pieces: readonly Buffer[]): Envelope {
  let first = pieces[0] as Buffer;
  let next = 1;
  const headerEnd = () => (first.length < 4 ? Infinity : 4 + first.readUInt32LE(0));
  while (first.length < headerEnd() && next < pieces.length) first = Buffer.concat([first, pieces[next++] as Buffer]);
  const end = headerEnd();
  if (first.length < end) throw new Error(`envelope of ${first.length} bytes is shorter than its header`);
  const header = JSON.parse(first.toString('utf8', 4, end)) as EnvelopeHeader;
  const rest = pieces.slice(next);
  const body = first.length > end ? [first.subarray(end), ...rest] : rest;
  return { header, body };
}

/** The envelope's kind, read without parsing its header. */
export function peekKind(raw: Buffer): string {
  // The header is JSON starting with {"t":"<kind>" — JSON.stringify keeps key order.
  return String.fromCharCode(raw[10] as number);
}

/** A member's collective call: world rank, the call as the user made it, its kind and root, and its script line if known. */
export type CollectiveCall = [rank: number, call: string, kind: string, root: number | null, at?: string];
