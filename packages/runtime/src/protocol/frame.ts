/**
 * Framing of the rank ⇄ agent socket (PROTOCOL.md):
 * `u32 LE frameLen | u32 LE headerLen | JSON header | body`.
 */

export interface Frame<H = Record<string, unknown>> {
  header: H;
  /** The body as a view into the received bytes (not copied). */
  body: Buffer;
}

/** Encodes one frame as a list of buffers, so large bodies are written without a copy. */
export function encodeFrame(header: object, parts: readonly Buffer[] = []): Buffer[] {
  const json = Buffer.from(JSON.stringify(header));
  let bodyLength = 0;
  for (const part of parts) bodyLength += part.length;
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32LE(4 + json.length + bodyLength, 0);
  prefix.writeUInt32LE(json.length, 4);
  return [prefix, json, ...parts];
}

/**
 * Reassembles frames from stream chunks. Chunks are kept in a list and joined once per
 * frame, so a multi-megabyte body arriving in 64 KiB pieces is copied once, not per piece.
 */
/** Largest frame accepted (a rank declaring more is broken or hostile), bytes. */
export const MAX_FRAME_BYTES = 2 ** 31;

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(8);
      const frameLength = head.readUInt32LE(0);
      if (frameLength > MAX_FRAME_BYTES || frameLength < 4) throw new Error(`frame of ${frameLength} bytes`);
      if (this.buffered < 4 + frameLength) break;
      const whole = this.take(4 + frameLength);
      const headerLength = whole.readUInt32LE(4);
      const header = JSON.parse(whole.toString('utf8', 8, 8 + headerLength)) as Record<string, unknown>;
      frames.push({ header, body: whole.subarray(8 + headerLength) });
    }
    return frames;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const first = this.peek(n);
    const taken = first.subarray(0, n);
    const rest = first.subarray(n);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= n;
    return taken;
  }
}

/** Splits a body into the byte strings listed in a header's `parts` (no copies). */
export function splitParts(body: Buffer, lengths: readonly number[]): Buffer[] {
  const parts: Buffer[] = [];
  let offset = 0;
  for (const length of lengths) {
    parts.push(body.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== body.length) {
    throw new Error(`frame body is ${body.length} bytes but its parts add up to ${offset}`);
  }
  return parts;
}
