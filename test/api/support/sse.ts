import type { Response as TestResponse } from 'supertest';

export interface SseEvent {
  id?: string;
  event?: string;
  data: unknown;
}

/** supertest `.parse()` that keeps the raw body of a text/event-stream until it ends. */
export function rawText(res: TestResponse, done: (error: Error | null, body: string) => void): void {
  // In Node, superagent hands parsers the http.IncomingMessage itself.
  const stream = res as unknown as NodeJS.ReadableStream;
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  stream.on('end', () => done(null, text));
}

/** The events of a whole event stream (`data:` parsed as JSON). */
export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event: SseEvent = { data: undefined };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') event.data = JSON.parse(value);
      }
      return event;
    });
}

export const sseEvents = (res: TestResponse): SseEvent[] => parseSse(res.body as string);

/** An event stream read as it arrives (fetch), for tests that act between events. */
export class LiveEvents {
  private buffer = '';
  private readonly abort = new AbortController();
  private reader?: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(private readonly url: string, private readonly lastEventId?: string) {}

  async open(): Promise<Response> {
    const headers: Record<string, string> = this.lastEventId ? { 'last-event-id': this.lastEventId } : {};
    const res = await fetch(this.url, { headers, signal: this.abort.signal });
    this.reader = res.body!.getReader();
    return res;
  }

  /** The next event; undefined when the stream has ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.buffer.slice(0, end + 2);
        this.buffer = this.buffer.slice(end + 2);
        return parseSse(block)[0];
      }
      const { done, value } = await this.reader!.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  close(): void {
    this.abort.abort();
  }
}
