/**
 * Reads the RESP2 replies of a Redis connection as they arrive, for the payload connection
 * (payload-connection.ts). A bulk reply's bytes are handed on as views of the socket reads
 * they arrived in: a 512 KiB chunk of a large message comes in eight or more reads, and
 * joining them (as client libraries do) is a full copy of every message fetched.
 *
 * Only the replies the payload connection's commands get are read: simple strings, errors,
 * integers, bulk strings and arrays of them (nulls included; `BLPOP` answers with an array).
 * RESP3 types are a protocol error.
 */
export type RespReply =
  | { kind: 'simple'; text: string }
  | { kind: 'error'; message: string }
  | { kind: 'integer'; value: number }
  /** `pieces` null: the nil bulk string (a missing key). */
  | { kind: 'bulk'; pieces: Buffer[] | null }
  /** `items` null: the nil array (a blocking pop that timed out). */
  | { kind: 'array'; items: RespReply[] | null };

const CR = 0x0d;
const LF = 0x0a;

export class RespReader {
  /** The start of a reply's first line that ended a read (a few bytes: the rest is in the next one). */
  private partialLine: Buffer | undefined;
  /** The bulk string being read: its pieces so far and how many of its bytes are still to come. */
  private bulk: { pieces: Buffer[]; left: number } | undefined;
  /** Bytes of the CRLF ending a bulk string still to skip (the CRLF may straddle two reads). */
  private crlfLeft = 0;
  /** The arrays being read, innermost last: each reply read is an item of the last one. */
  private readonly arrays: { items: RespReply[]; left: number }[] = [];

  constructor(private readonly onReply: (reply: RespReply) => void) {}

  /** Feeds the next bytes read from the connection; calls onReply for every reply they complete. */
  push(data: Buffer): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.crlfLeft > 0) {
        const skip = Math.min(this.crlfLeft, data.length - offset);
        this.crlfLeft -= skip;
        offset += skip;
        if (this.crlfLeft === 0) this.finishBulk();
        continue;
      }
      if (this.bulk) {
        const take = Math.min(this.bulk.left, data.length - offset);
        this.bulk.pieces.push(take === data.length ? data : data.subarray(offset, offset + take));
        this.bulk.left -= take;
        offset += take;
        if (this.bulk.left === 0) this.crlfLeft = 2;
        continue;
      }
      const end = data.indexOf(LF, offset);
      if (end < 0) {
        const rest = data.subarray(offset);
        this.partialLine = this.partialLine ? Buffer.concat([this.partialLine, rest]) : Buffer.from(rest);
        return;
      }
      // A line is a few bytes: joining its start from the last read copies only those.
      const piece = data.subarray(offset, end + 1);
      const line = this.partialLine ? Buffer.concat([this.partialLine, piece]) : piece;
      this.partialLine = undefined;
      offset = end + 1;
      this.onLine(line);
    }
  }

  /** A reply's first line, CRLF included. */
  private onLine(line: Buffer): void {
    if (line.length < 3 || line[line.length - 2] !== CR) throw new Error(`malformed reply line from Redis: ${JSON.stringify(line.toString('latin1'))}`);
    const text = line.toString('utf8', 1, line.length - 2);
    switch (String.fromCharCode(line[0] as number)) {
      case '+':
        return this.read({ kind: 'simple', text });
      case '-':
        return this.read({ kind: 'error', message: text });
      case ':':
        return this.read({ kind: 'integer', value: Number(text) });
      case '*': {
        const count = Number(text);
        if (!Number.isInteger(count) || count < -1) throw new Error(`malformed array length from Redis: ${text}`);
        if (count <= 0) return this.read({ kind: 'array', items: count === 0 ? [] : null });
        this.arrays.push({ items: [], left: count });
        return;
      }
      case '$': {
        const length = Number(text);
        if (!Number.isInteger(length) || length < -1) throw new Error(`malformed bulk length from Redis: ${text}`);
        if (length === -1) return this.read({ kind: 'bulk', pieces: null });
        this.bulk = { pieces: [], left: length };
        if (length === 0) this.crlfLeft = 2;
        return;
      }
      default:
        throw new Error(`unexpected reply from Redis: ${JSON.stringify(line.toString('latin1'))}`);
    }
  }

  private finishBulk(): void {
    const pieces = (this.bulk as { pieces: Buffer[] }).pieces;
    this.bulk = undefined;
    this.read({ kind: 'bulk', pieces });
  }

  /** A reply read whole: an item of the array being read, or — if none is — a reply to hand on. */
  private read(reply: RespReply): void {
    for (;;) {
      const array = this.arrays[this.arrays.length - 1];
      if (!array) return this.onReply(reply);
      array.items.push(reply);
      if (--array.left > 0) return;
      this.arrays.pop();
      reply = { kind: 'array', items: array.items };
    }
  }
}
