import type { Pieces } from '../protocol/pieces';
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
    case 'bcast':
      return me === root ? [] : [first(all[root])];
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
 * The result when this rank needs nothing from the others (a bcast root, a gather
 * non-root, a scatter root): MPI lets it return before the collective completes elsewhere.
 */
export function resultWithoutOthers(
  kind: CollectiveKind,
  root: number,
  me: number,
  mine: readonly Pieces[],
): Pieces[] | undefined {
  if (kind === 'bcast' && me === root) return [];
  if (kind === 'gather' && me !== root) return [];
  if (kind === 'scatter' && me === root) return [mine[me] ?? EMPTY];
  return undefined;
}

const EMPTY: Pieces = [];
