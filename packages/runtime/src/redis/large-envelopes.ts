import type { Pieces } from '../protocol/pieces';
import { chunksOf, PAYLOAD_CHUNK_BYTES } from './payload-chunks';
import type { PayloadConnection } from './payload-connection';

/** A pointer to a large envelope (the 'x' envelope's fields). */
export interface StoredEnvelope {
  /** The key its chunks are named after: `k:0` … `k:<c-1>`. */
  k: string;
  /** How many agents read it (the last one deletes it). */
  r: number;
  /** How many chunks it is in. */
  c: number;
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
 * announcement (`BLMOVE`, into a list of what it has taken) and a fetch (`GETDEL`, or `GET`
 * when several read it). Redis runs a blocked connection's later commands once it unblocks,
 * so a reader fetches a chunk as soon as it is stored, while its writer stores the next, and
 * the pointer needs no wait for the chunks. On 2 cores, where Redis itself is the bottleneck,
 * the two stages alone cost what they did stored-then-fetched (0.97–1.03x, `npm run
 * bench:stream`), but through the whole stack over two worker processes the medians of three
 * alternating runs of `npm run bench:hosted` went: bcast 8 MiB 40.1 → 31.4 ms at np 2 and
 * 49.7 → 35.5 at np 4, 4 MiB ping-pong 46.2 → 39.1, Allreduce 1 MiB 21.0 → 16.8 and
 * 42.0 → 29.9 (single runs overlap at np 2).
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
    const { writes, loose, ttlMs } = this.options;
    const key = this.keyOf(this.options.agent, this.nextId++);
    const chunks = chunksOf(pieces, PAYLOAD_CHUNK_BYTES);
    const pointer = { k: key, r: readers.length, c: chunks.length };
    // Listed first, on the same connection: a reader takes them off only after the last announcement.
    const listed = [...chunkKeysOf(pointer), ...readers.flatMap((reader) => readerKeysOf(key, reader))];
    if (readers.length > 1) listed.push(readCounterOf(key));
    const sent: Promise<void>[] = [writes.addToSet(loose, listed, ttlMs)];
    chunks.forEach((chunk, i) => {
      sent.push(writes.set(`${key}:${i}`, chunk, ttlMs));
      for (const reader of readers) sent.push(writes.push(tokensOf(key, reader), Buffer.from(String(i)), ttlMs));
    });
    return { pointer, stored: Promise.all(sent).then(() => undefined) };
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
    const [tokens, taken] = readerKeysOf(pointer.k, agent);
    const fetched: Promise<Buffer[] | null>[] = [];
    for (const key of chunkKeysOf(pointer)) {
      // Redis reads each fetch once the wait before it is over: no round trip per chunk.
      void reads.awaitMove(tokens, taken).catch(() => undefined); // its failure fails the fetch after it too
      fetched.push(lone ? reads.getdel(key) : reads.get(key));
    }
    const tidied = Promise.all([reads.delete([tokens, taken]), reads.removeFromSet(loose, lone ? [...chunkKeysOf(pointer), tokens, taken] : [tokens, taken])]);
    const [chunks] = await Promise.all([Promise.all(fetched), tidied]);
    if (chunks.some((chunk) => chunk === null)) throw new Error(`stored envelope ${pointer.k} is missing`);
    return chunks as Buffer[][];
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

/** The list where the writer announces each chunk stored to agent `reader`. */
function tokensOf(key: string, reader: number): string {
  return `${key}:t${reader}`;
}

/** Agent `reader`'s keys of an envelope stored at `key`: its announcements, and those it has taken. */
function readerKeysOf(key: string, reader: number): [tokens: string, taken: string] {
  return [tokensOf(key, reader), `${key}:s${reader}`];
}
