import type { Writable } from 'node:stream';

export type RankStream = 'stdout' | 'stderr';

/** How long a line without its newline waits before it is shown anyway (a prompt, say). */
const PARTIAL_LINE_DELAY_MS = 50;

interface Pending {
  text: string;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Shows ranks' output on the terminal a line at a time, so lines of different ranks never
 * mix mid-line; with `tagOutput` each line gets Open MPI's `[1,rank]<stream>:` prefix.
 */
export class RankOutputWriter {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly targets: Record<RankStream, Writable>,
    private readonly tagOutput: boolean,
  ) {}

  write(rank: number, stream: RankStream, chunk: Buffer): void {
    const key = `${rank}:${stream}`;
    const entry = this.pending.get(key) ?? { text: '', timer: undefined };
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const text = entry.text + chunk.toString('utf8');
    const lastBreak = text.lastIndexOf('\n');
    if (lastBreak >= 0) this.emit(rank, stream, text.slice(0, lastBreak + 1));
    entry.text = text.slice(lastBreak + 1);
    if (entry.text.length > 0) {
      entry.timer = setTimeout(() => this.flushOne(rank, stream), PARTIAL_LINE_DELAY_MS);
    }
    this.pending.set(key, entry);
  }

  /** Writes out every partial line still held. */
  flush(): void {
    for (const key of this.pending.keys()) {
      const [rank, stream] = key.split(':') as [string, RankStream];
      this.flushOne(Number(rank), stream);
    }
  }

  private flushOne(rank: number, stream: RankStream): void {
    const entry = this.pending.get(`${rank}:${stream}`);
    if (!entry || entry.text.length === 0) return;
    clearTimeout(entry.timer);
    this.emit(rank, stream, entry.text);
    entry.text = '';
    entry.timer = undefined;
  }

  private emit(rank: number, stream: RankStream, lines: string): void {
    if (!this.tagOutput) {
      this.targets[stream].write(lines);
      return;
    }
    const prefix = `[1,${rank}]<${stream}>:`;
    const body = lines.endsWith('\n') ? lines.slice(0, -1) : lines;
    const tagged = body
      .split('\n')
      .map((line) => prefix + line)
      .join('\n');
    this.targets[stream].write(lines.endsWith('\n') ? `${tagged}\n` : tagged);
  }
}
