/**
 * Consecutive `size`-byte chunks of the bytes of `pieces` (the last one shorter): views of a
 * piece where a chunk lies within one, joined only where a chunk spans pieces.
 */
export function chunksOf(pieces: readonly Buffer[], size: number): Buffer[] {
  const chunks: Buffer[] = [];
  let spanning: Buffer[] = [];
  let filled = 0;
  for (const piece of pieces) {
    let offset = 0;
    while (offset < piece.length) {
      const take = Math.min(size - filled, piece.length - offset);
      spanning.push(piece.subarray(offset, offset + take));
      filled += take;
      offset += take;
      if (filled === size) {
        chunks.push(spanning.length === 1 ? (spanning[0] as Buffer) : Buffer.concat(spanning, size));
        spanning = [];
        filled = 0;
      }
    }
  }
  if (filled > 0) chunks.push(spanning.length === 1 ? (spanning[0] as Buffer) : Buffer.concat(spanning, filled));
  return chunks;
}
