/**
 * Framing of the rank ⇄ agent socket (PROTOCOL.md):
 * `u32 LE frameLen | u32 LE headerLen | JSON header | body`.
 */
import { lengthOf } from './pieces';

export interface Frame<H = Record<string, unknown>> {
  header: H;
  /** The body as it arrived: views of the received chunks, in order (not joined); empty if streamed. */
  body: Buffer[];
  /** The body went to the sink its decoder's `offer` gave for it, as it arrived. */
  streamed?: true;
}

/** Where a frame's body goes as it arrives, rather than held until the frame is whole. */
export interface BodySink {
  /** The next bytes of the body (views of the received chunks). */
  write(pieces: Buffer[]): void;
}

/**
 * Asked once for each frame whose body is large and still arriving when its header is read:
 * a sink to stream the body to, or undefined to have the frame held whole as usual.
 */
export type BodyOffer = (header: Record<string, unknown>, bodyLength: number) => BodySink | undefined;

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
  /** The frame whose body is being streamed, and how many of its bytes are still to come. */
  private streaming: { header: Record<string, unknown>; sink: BodySink; left: number } | undefined;
  /** The header of the frame being read, if it was offered already and declined (parsed once). */
  private declined: Record<string, unknown> | undefined;

  /**
   * `offer`: asked about every frame with a body of more than `streamAbove` bytes still
   * arriving when its header is read (none asked: every frame is held whole).
   */
  constructor(
    private readonly offer?: BodyOffer,
    private readonly streamAbove = 0,
  ) {}

  /** Bytes received and not yet handed on in a frame (the start of the next one). */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.streaming) {
        const streaming = this.streaming;
        const n = Math.min(streaming.left, this.buffered);
        if (n > 0) streaming.sink.write(this.take(n));
        streaming.left -= n;
        if (streaming.left > 0) break;
        this.streaming = undefined;
        frames.push({ header: streaming.header, body: [], streamed: true });
        continue;
      }
      if (this.buffered < 8) break;
      const head = this.peek(8);
      const frameLength = head.readUInt32LE(0);
      if (frameLength > MAX_FRAME_BYTES || frameLength < 4) throw new Error(`frame of ${frameLength} bytes`);
      const headerLength = head.readUInt32LE(4);
      if (headerLength > frameLength - 4) throw new Error(`header of ${headerLength} bytes in a frame of ${frameLength}`);
      const bodyLength = frameLength - 4 - headerLength;
      if (this.buffered < 4 + frameLength) {
        if (this.offer && this.declined === undefined && bodyLength > this.streamAbove && this.buffered >= 8 + headerLength) this.offerBody(headerLength, bodyLength);
        if (this.streaming) continue;
        break;
      }
      this.take(8);
      const header = this.declined ?? (JSON.parse(this.peek(headerLength).toString('utf8', 0, headerLength)) as Record<string, unknown>);
      this.take(headerLength);
      this.declined = undefined;
      frames.push({ header, body: this.take(bodyLength) });
    }
    return frames;
  }

  /** Offers the body of the frame being read (its header is here, its body is not yet): streamed from here on if taken. */
  private offerBody(headerLength: number, bodyLength: number): void {
    const header = JSON.parse(this.peek(8 + headerLength).toString('utf8', 8, 8 + headerLength)) as Record<string, unknown>;
    const sink = (this.offer as BodyOffer)(header, bodyLength);
    if (!sink) {
      this.declined = header;
      return;
    }
    this.take(8 + headerLength);
    this.streaming = { header, sink, left: bodyLength };
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
    let whole = 0; // chunks taken whole: removed at once (a shift each costs as much as all of them)
    while (left > 0) {
      const first = this.chunks[whole] as Buffer;
      if (first.length <= left) {
        taken.push(first);
        whole++;
        left -= first.length;
      } else {
        taken.push(first.subarray(0, left));
        this.chunks[whole] = first.subarray(left);
        left = 0;
      }
    }
    if (whole > 0) this.chunks.splice(0, whole);
    this.buffered -= n;
    return taken;
  }
}
