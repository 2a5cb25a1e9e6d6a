import { lengthOf, splitPieces, type Pieces } from '../protocol/pieces';
import type { EnvelopeHeader } from './envelope';
import { PAYLOAD_CHUNK_BYTES } from './payload-chunks';
import type { PayloadConnection } from './payload-connection';

/** A pointer to a large envelope: the 'x' envelope's fields (envelope.ts). */
export type StoredEnvelope = Omit<Extract<EnvelopeHeader, { t: 'x' }>, 't'>;

/** A large envelope being stored as its bytes come (open()). */
export interface EnvelopeWriter {
  pointer: StoredEnvelope;
  /** The envelope's next bytes: each chunk is stored once all its bytes have come. */
  write(pieces: Pieces): void;
  /** Resolves once Redis has stored every chunk, or once the writer is abandoned. */
  stored: Promise<void>;
  /** The rest will never come (its rank is gone): `stored` settles; the readers wait until the job ends. */
  abandon(): void;
}

export interface LargeEnvelopesOptions {
  /** Stores chunks and announces them: never waits on anything. */
  writes: PayloadConnection;
  /** This agent's reads of other agents' chunks, each waiting for its chunk's announcement. */
  reads: PayloadConnection;
  /** The job's set of loose keys (JobKeys.loose), where every stored key is listed until deleted. */
  loose: string;
  /** Index of this agent among the job's agents. */
  agent: number;
  /** Safety-net expiry of every key, in ms. */
  ttlMs: number;
}

/**
 * Large envelopes between agents, streamed through Redis in chunks. The writer stores each
 * 512 KiB chunk in a plain string key and then announces it on a token list of each reader
 * (`RPUSH`); a reader, which got the pointer first, pipelines for every chunk a wait for its
 * announcement (`BLPOP`) and a fetch (`GETDEL`, or `GET` when several read it). Redis runs a
 * blocked connection's later commands once it unblocks, so a reader fetches a chunk as soon
 * as it is stored, while its writer stores the next, and
 * the pointer needs no wait for the chunks. On 2 cores, where Redis itself is the bottleneck,
 * the two stages alone cost about what they did stored-then-fetched (0.83–1.03x, `npm run
 * bench:stream`); through the whole stack over two worker processes (`npm run bench:hosted`,
 * medians of 3 alternating runs against the build before) bcast 8 MiB went 39.3 → 26.8 ms at
 * np 2 and 45.5 → 39.1 at np 4, a 4 MiB ping-pong 48.4 → 29.0 ms, Allreduce 1 MiB at np 2
 * 22.8 → 12.6 ms. Within one process (`mpiaas exec --agents 2`) it changes nothing measurable.
 *
 * Two connections, because a reader's waits block its connection: were its own stores behind
 * them, two agents sending each other large messages would each wait for chunks the other's
 * blocked connection cannot store. Writes never wait on anything, so every wait ends once the
 * writer's connection is through to the chunk, or when the job ends and the reader's
 * connection is closed under it.
 */
export class LargeEnvelopes {
  private nextId = 0;

  constructor(
    private readonly options: LargeEnvelopesOptions,
    /** A large envelope's base key, `id` unique per agent (JobKeys.payload). */
    private readonly keyOf: (agent: number, id: number) => string,
  ) {}

  /**
   * Stores the envelope whose bytes are `pieces` for the agents `readers` and returns its
   * pointer, to be sent at once (the readers wait for each chunk), and when Redis has stored
   * all of it. The chunks are cut from the pieces as they are, not joined first (a copy).
   */
  store(pieces: Pieces, readers: readonly number[]): { pointer: StoredEnvelope; stored: Promise<void> } {
    const writer = this.open(lengthOf(pieces), readers);
    writer.write(pieces);
    return writer;
  }

  /**
   * Starts storing an envelope of `length` bytes for the agents `readers`, to be written as
   * its bytes come (a rank's message while its frame is still arriving): each chunk is stored
   * and announced once its bytes are all here. The pointer may be sent at once.
   */
  open(length: number, readers: readonly number[]): EnvelopeWriter {
    const { writes, loose, ttlMs } = this.options;
    const key = this.keyOf(this.options.agent, this.nextId++);
    const pointer = { k: key, r: readers.length, c: Math.ceil(length / PAYLOAD_CHUNK_BYTES) };
    // Listed first, on the same connection: a reader takes them off only after the last announcement.
    const listed = [...chunkKeysOf(pointer), ...readers.map((reader) => tokensOf(key, reader))];
    if (readers.length > 1) listed.push(readCounterOf(key));
    const listing = writes.addToSet(loose, listed, ttlMs);
    return new ChunkedWriter(pointer, length, listing, (i, chunk) => {
      const sent = [writes.set(`${key}:${i}`, chunk, ttlMs)];
      // A token list gets its expiry with its first token (its reader empties it, so Redis deletes it).
      for (const reader of readers) sent.push(writes.push(tokensOf(key, reader), TOKEN, i === 0 ? ttlMs : undefined));
      return Promise.all(sent);
    });
  }

  /**
   * The chunks of a stored envelope, as this agent (one of its readers) takes them: each as
   * views of the socket reads it arrived in. A lone reader deletes them as it reads; one of
   * several must then `release` them (RELEASE, through the command connection: after its reads,
   * the last reader's deletes them). Rejects if a chunk is missing (expired, or a job's keys
   * deleted under it).
   */
  async fetch(pointer: StoredEnvelope): Promise<Buffer[][]> {
    const { reads, loose, agent } = this.options;
    const lone = pointer.r <= 1;
    const tokens = tokensOf(pointer.k, agent);
    const fetched: Promise<Buffer[] | null>[] = [];
    for (const key of chunkKeysOf(pointer)) {
      // Redis reads each fetch once the wait before it is over: no round trip per chunk.
      void reads.awaitPop(tokens).catch(() => undefined); // its failure fails the fetch after it too
      fetched.push(lone ? reads.getdel(key) : reads.get(key));
    }
    // The token list is gone (emptied); a lone reader deleted the chunks as it read them.
    const tidied = reads.removeFromSet(loose, lone ? [...chunkKeysOf(pointer), tokens] : [tokens]);
    const [chunks] = await Promise.all([Promise.all(fetched), tidied]);
    if (chunks.some((chunk) => chunk === null)) throw new Error(`stored envelope ${pointer.k} is missing`);
    return chunks as Buffer[][];
  }
}

/** Cuts an envelope's bytes into chunks as they come, and has each stored once whole. */
class ChunkedWriter implements EnvelopeWriter {
  readonly stored: Promise<void>;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private received = 0;
  private readonly sent: Promise<unknown>[];
  private settle!: (result: Promise<unknown> | undefined) => void;

  constructor(
    readonly pointer: StoredEnvelope,
    private readonly length: number,
    listing: Promise<void>,
    private readonly storeChunk: (i: number, chunk: Buffer[]) => Promise<unknown>,
  ) {
    this.sent = [listing];
    this.stored = new Promise<unknown>((resolve) => (this.settle = resolve)).then(() => undefined);
  }

  write(pieces: Pieces): void {
    const n = lengthOf(pieces);
    this.received += n;
    if (this.received > this.length) throw new Error(`an envelope of ${this.length} bytes was given ${this.received}`);
    this.held.push(...pieces);
    this.heldBytes += n;
    // Whole chunks, and the last one once every byte has come.
    while (this.heldBytes >= PAYLOAD_CHUNK_BYTES || (this.received === this.length && this.heldBytes > 0)) {
      const size = Math.min(PAYLOAD_CHUNK_BYTES, this.heldBytes);
      const [chunk, rest] = splitPieces(this.held, [size, this.heldBytes - size]) as [Buffer[], Buffer[]];
      this.held = rest;
      this.heldBytes -= size;
      this.sent.push(this.storeChunk(this.sent.length - 1, chunk));
    }
    if (this.received === this.length) this.settle(Promise.all(this.sent));
  }

  abandon(): void {
    this.held = [];
    this.settle(undefined);
  }
}

/** The keys of a stored envelope's chunks: `k:0` … */
export function chunkKeysOf(pointer: StoredEnvelope): string[] {
  return Array.from({ length: pointer.c }, (_, i) => `${pointer.k}:${i}`);
}

/** How many of its readers have fetched a large envelope stored at `key` (when several read it). */
export function readCounterOf(key: string): string {
  return `${key}:n`;
}

/** What announces a chunk: the order of the chunks says which. */
const TOKEN = Buffer.from('1');

/** The list where the writer announces each chunk stored to agent `reader`. */
function tokensOf(key: string, reader: number): string {
  return `${key}:t${reader}`;
}

