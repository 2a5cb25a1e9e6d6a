/** Keeps the last `limit` bytes written to it: a rank's stderr tail for failure reports. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.chunks.length > 1 && this.length - (this.chunks[0] as Buffer).length >= this.limit) {
      this.length -= (this.chunks.shift() as Buffer).length;
    }
  }

  /** The tail as text, cut to whole lines where possible. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    const tail = all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
    const firstBreak = tail.indexOf('\n');
    return all.length > this.limit && firstBreak >= 0 ? tail.slice(firstBreak + 1) : tail;
  }
}
