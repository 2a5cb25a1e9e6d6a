import { lengthOf, splitPieces, type Pieces } from '../protocol/pieces';

/**
 * A large envelope is stored in chunks of this size (large-envelopes.ts), not as one value:
 * Redis grows one query buffer for a huge argument, copying as it goes. Measured SET then
 * GETDEL through one Redis (medians of 21): 8 MiB 24.9 ms as one value, 12.7 ms in 512 KiB
 * chunks (14.4 in 256 KiB, 14.0 in 1 MiB); 4 MiB 14.2 → 5.2 ms.
 */
export const PAYLOAD_CHUNK_BYTES = 512 * 1024;

/**
 * The bytes of `pieces` cut into consecutive `size`-byte chunks (the last one shorter), each
 * as the views of the pieces it spans: nothing is copied. The agents cut their envelopes as
 * the bytes come (large-envelopes.ts); the benches and tests cut whole buffers with this.
 */
export function chunksOf(pieces: Pieces, size: number): Buffer[][] {
  const total = lengthOf(pieces);
  const lengths = Array.from({ length: Math.ceil(total / size) }, (_, i) => Math.min(size, total - i * size));
  return splitPieces(pieces, lengths);
}
