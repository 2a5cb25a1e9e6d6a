import { lengthOf, lengthOfParts, type Pieces } from '../protocol/pieces';
import type { CollectiveKind } from '../protocol/rank-messages';

/**
 * What one rank gets back from a collective, given every member's contribution (indexed by
 * comm rank; each a list of parts as in PROTOCOL.md "Collectives", each part as pieces).
 */
export function collectiveResult(kind: CollectiveKind, root: number, me: number, all: readonly (readonly Pieces[])[]): Pieces[] {
  const first = (parts: readonly Pieces[] | undefined): Pieces => parts?.[0] ?? EMPTY;
  switch (kind) {
    case 'barrier':
      return [];
    case 'bcast': {
      // the root's parts: its data, or a reference to a shared-memory file (isSharedReference)
      const data = all[root];
      return me === root ? [] : data?.length ? [...data] : [EMPTY];
    }
    case 'gather':
      return me === root ? all.map(first) : [];
    case 'scatter':
      return [all[root]?.[me] ?? EMPTY];
    case 'allgather':
      return all.map(first);
    case 'alltoall':
      return all.map((parts) => parts[me] ?? EMPTY);
  }
}

/**
 * A rank that needs nothing from the others returns before the collective completes only if
 * it contributes at most this much (MPI's eager messages); with more it waits until every
 * member has joined, as with MPI's rendezvous protocol. Otherwise a root looping over large
 * bcasts runs ahead of its receivers and its data piles up in its agent and in Redis: 8 MiB
 * bcasts over three agents filled the agent's 2 GiB within 3000 calls and failed the job.
 */
export const EAGER_BYTES = 64 * 1024;

/**
 * The result when this rank needs nothing from the others (a bcast root, a gather
 * non-root, a scatter root) and contributes at most EAGER_BYTES: MPI lets it return before
 * the collective completes elsewhere.
 */
export function resultWithoutOthers(
  kind: CollectiveKind,
  root: number,
  me: number,
  mine: readonly Pieces[],
): Pieces[] | undefined {
  if (lengthOfParts(mine) > EAGER_BYTES) return undefined;
  if (kind === 'bcast' && me === root) return isSharedReference(mine) ? undefined : [];
  if (kind === 'gather' && me !== root) return [];
  if (kind === 'scatter' && me === root) return [mine[me] ?? EMPTY];
  return undefined;
}

/**
 * A bcast root's contribution naming a file in the shared-memory folder rather than holding
 * the data: an empty part, then the reference (PROTOCOL.md, "Shared memory"). The agent
 * hands it on as it would the data; its root waits for every member, as beyond EAGER_BYTES,
 * so that a root looping over large bcasts cannot fill the folder ahead of its readers.
 */
export function isSharedReference(parts: readonly Pieces[]): boolean {
  return parts.length === 2 && lengthOf(parts[0] as Pieces) === 0;
}

const EMPTY: Pieces = [];
