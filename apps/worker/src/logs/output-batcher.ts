import type { LogStreamName } from '@mpiaas/contracts';

/** One stored piece of a rank's output: whole lines, except a stream's last piece. */
export interface OutputRecord {
  rank: number;
  stream: LogStreamName;
  /** Position in its (rank, stream), from 0. */
  seq: number;
  text: string;
}

export interface OutputTotals {
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
}

interface StreamState {
  /** Bytes received but not yet cut into records (a partial line at most, unless forced). */
  pending: Buffer[];
  pendingBytes: number;
  nextSeq: number;
}

/**
 * Cuts ranks' output into records of whole lines for storage, counts bytes, and enforces
 * the per-rank cap: past `capBytes` (stdout + stderr of one rank) output is dropped and one
 * marker line says so. Lines are never split between records unless a single line is
 * longer than `maxRecordBytes`, so a page of logs never shows half a line.
 */
export class OutputBatcher {
  private readonly streams = new Map<string, StreamState>();
  private readonly totals = new Map<number, OutputTotals>();
  /** Text cut and waiting for take(), per stream in order; merged into few large records. */
  private readonly ready = new Map<string, { rank: number; stream: LogStreamName; texts: string[] }>();

  constructor(
    private readonly capBytes: number,
    private readonly maxRecordBytes = 256 * 1024,
  ) {}

  /** Takes a chunk of a rank's output. */
  push(rank: number, stream: LogStreamName, chunk: Buffer): void {
    const totals = this.totalsOf(rank);
    if (totals.truncated) return;
    const used = totals.stdoutBytes + totals.stderrBytes;
    let accepted = chunk;
    if (used + chunk.length > this.capBytes) {
      accepted = chunk.subarray(0, Math.max(0, this.capBytes - used));
      totals.truncated = true;
    }
    if (stream === 'stdout') totals.stdoutBytes += accepted.length;
    else totals.stderrBytes += accepted.length;
    const state = this.stateOf(rank, stream);
    state.pending.push(accepted);
    state.pendingBytes += accepted.length;
    this.cut(rank, stream, state, false);
    if (totals.truncated) {
      const endsLine = accepted.length === 0 || accepted[accepted.length - 1] === 0x0a;
      this.cut(rank, stream, state, true);
      this.emit(rank, stream, `${endsLine ? '' : '\n'}[mpiaas: output of rank ${rank} truncated after ${this.capBytes} bytes]\n`);
    }
  }

  /**
   * Records ready to store. With `final`, partial lines are included too (at job end, or
   * when a line has waited long enough).
   */
  take(final = false): OutputRecord[] {
    if (final) {
      for (const [key, state] of this.streams) {
        const [rank, stream] = key.split(':') as [string, LogStreamName];
        this.cut(Number(rank), stream, state, true);
      }
    }
    // Consecutive pieces of one stream become one record (up to maxRecordBytes): fewer,
    // larger rows are what makes storing output cheap.
    const records: OutputRecord[] = [];
    for (const [key, { rank, stream, texts }] of this.ready) {
      const state = this.streams.get(key) as StreamState;
      let text = '';
      let bytes = 0;
      for (const piece of texts) {
        const size = Buffer.byteLength(piece);
        if (bytes > 0 && bytes + size > this.maxRecordBytes) {
          records.push({ rank, stream, seq: state.nextSeq++, text });
          text = '';
          bytes = 0;
        }
        text += piece;
        bytes += size;
      }
      if (bytes > 0) records.push({ rank, stream, seq: state.nextSeq++, text });
    }
    this.ready.clear();
    return records;
  }

  totalsOf(rank: number): OutputTotals {
    let totals = this.totals.get(rank);
    if (!totals) this.totals.set(rank, (totals = { stdoutBytes: 0, stderrBytes: 0, truncated: false }));
    return totals;
  }

  private stateOf(rank: number, stream: LogStreamName): StreamState {
    const key = `${rank}:${stream}`;
    let state = this.streams.get(key);
    if (!state) this.streams.set(key, (state = { pending: [], pendingBytes: 0, nextSeq: 0 }));
    return state;
  }

  private cut(rank: number, stream: LogStreamName, state: StreamState, force: boolean): void {
    if (state.pendingBytes === 0) return;
    const bytes = Buffer.concat(state.pending, state.pendingBytes);
    let end = force ? bytes.length : bytes.lastIndexOf(0x0a) + 1;
    if (end === 0 && bytes.length >= this.maxRecordBytes) end = bytes.length;
    end = characterBoundary(bytes, end);
    let offset = 0;
    while (offset < end) {
      let stop = characterBoundary(bytes, Math.min(end, offset + this.maxRecordBytes));
      if (stop <= offset) stop = Math.min(end, offset + this.maxRecordBytes);
      this.emit(rank, stream, bytes.toString('utf8', offset, stop));
      offset = stop;
    }
    const rest = bytes.subarray(end);
    state.pending = rest.length > 0 ? [rest] : [];
    state.pendingBytes = rest.length;
  }

  private emit(rank: number, stream: LogStreamName, text: string): void {
    const key = `${rank}:${stream}`;
    let entry = this.ready.get(key);
    if (!entry) this.ready.set(key, (entry = { rank, stream, texts: [] }));
    entry.texts.push(text);
  }
}

/** `index`, moved back to the start of the UTF-8 character it falls inside, if any. */
function characterBoundary(bytes: Buffer, index: number): number {
  let at = index;
  while (at > 0 && at < bytes.length && ((bytes[at] as number) & 0xc0) === 0x80) at--;
  return at;
}
