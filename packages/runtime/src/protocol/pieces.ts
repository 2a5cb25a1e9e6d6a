/**
 * Bytes kept as the pieces they arrived in (a rank's socket reads, the chunks of a large
 * envelope fetched from Redis), in order. A message body or a collective part travels through
 * the agent this way and is written to the next socket with one writev of its pieces: joining
 * 8 MiB that arrived in 64 KiB reads would copy all of it once more.
 */
export type Pieces = readonly Buffer[];

export function lengthOf(pieces: Pieces): number {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  return length;
}

/** Bytes in all of a call's parts (each its pieces). */
export function lengthOfParts(parts: readonly Pieces[]): number {
  let length = 0;
  for (const part of parts) length += lengthOf(part);
  return length;
}

/** The bytes as one buffer: the piece itself when there is one, else a copy. */
export function joined(pieces: Pieces): Buffer {
  if (pieces.length === 1) return pieces[0] as Buffer;
  return Buffer.concat(pieces as Buffer[]);
}

/** Consecutive parts of the given lengths, each as views of the pieces it spans (no copy). */
export function splitPieces(pieces: Pieces, lengths: readonly number[]): Buffer[][] {
  let total = 0;
  for (const length of lengths) total += length;
  const available = lengthOf(pieces);
  if (total !== available) throw new Error(`body is ${available} bytes but its parts add up to ${total}`);
  const parts: Buffer[][] = [];
  let index = 0;
  let offset = 0; // within pieces[index]
  for (const length of lengths) {
    const part: Buffer[] = [];
    for (let left = length; left > 0; ) {
      const piece = pieces[index] as Buffer;
      const take = Math.min(left, piece.length - offset);
      part.push(take === piece.length ? piece : piece.subarray(offset, offset + take));
      left -= take;
      offset += take;
      if (offset === piece.length) {
        index++;
        offset = 0;
      }
    }
    parts.push(part);
  }
  return parts;
}
