/** Splits a byte stream into newline-terminated JSON messages. */
export class LineReader<T> {
  private buffered = '';

  constructor(private readonly onMessage: (message: T) => void) {}

  push(chunk: Buffer): void {
    this.buffered += chunk.toString('utf8');
    let end: number;
    while ((end = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 1);
      if (line.trim()) this.onMessage(JSON.parse(line) as T);
    }
  }
}
