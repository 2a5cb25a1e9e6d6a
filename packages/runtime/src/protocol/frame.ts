/**
 * Framing of the rank ⇄ agent socket (PROTOCOL.md):
 * `u32 LE frameLen | u32 LE headerLen | JSON header | body`.
 */
import { lengthOf } from './pieces';

export interface Frame<H = Record<string, unknown>> {
  header: H;
  /** The body as it arrived: views of the received chunks, in order (not joined). */
  body: Buffer[];
}

/** Encodes one frame as a list of buffers, so large bodies are written without a copy. */
export function encodeFrame(header: object, parts: readonly Buffer[] = []): Buffer[] {
  const json = Buffer.from(JSON.stringify(header));
  const bodyLength = lengthOf(parts);
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32LE(4 + json.length + bodyLength, 0);
  prefix.writeUInt32LE(json.length, 4);
  return [prefix, json, ...parts];
}

/** Largest frame accepted (a rank declaring more is broken or hostile), bytes. */
export const MAX_FRAME_BYTES = 2 ** 31;

/**
 * Reassembles frames from stream chunks. A frame's body is handed on as views of the chunks
 * it arrived in: a multi-megabyte body read in 64 KiB pieces is never joined here (its
 * consumer writes the pieces on, see pieces.ts). Only a frame's 8-byte prefix and JSON header
 * are copied, when they straddle two chunks.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Bytes received and not yet handed on in a frame (the start of the next one). */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 8) break;
      const head = this.peek(8);
      const frameLength = head.readUInt32LE(0);
      if (frameLength > MAX_FRAME_BYTES || frameLength < 4) throw new Error(`frame of ${frameLength} bytes`);
      if (this.buffered < 4 + frameLength) break;
      const headerLength = head.readUInt32LE(4);
      if (headerLength > frameLength - 4) throw new Error(`header of ${headerLength} bytes in a frame of ${frameLength}`);
      this.take(8);
      const header = JSON.parse(this.peek(headerLength).toString('utf8', 0, headerLength)) as Record<string, unknown>;
      this.take(headerLength);
      frames.push({ header, body: this.take(frameLength - 4 - headerLength) });
    }
    return frames;
  }

  /** The first n buffered bytes as one buffer (joined only if the first chunk is shorter). */
  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined || first.length >= n) return first ?? Buffer.alloc(0);
    const pieces: Buffer[] = [];
    for (let have = 0, i = 0; have < n; i++) {
      const chunk = this.chunks[i] as Buffer;
      pieces.push(chunk);
      have += chunk.length;
    }
    return Buffer.concat(pieces, n);
  }

  /** The first n buffered bytes, as views of the chunks they are in; removed from the buffer. */
  private take(n: number): Buffer[] {
    const taken: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const first = this.chunks[0] as Buffer;
      if (first.length <= left) {
        taken.push(first);
        this.chunks.shift();
        left -= first.length;
      } else {
        taken.push(first.subarray(0, left));
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return taken;
  }
}
