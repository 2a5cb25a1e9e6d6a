import type { PendingOp, RankState } from '../engine/blocked-state';
import type { RankStack } from '../engine/rank-endpoint';
import type { ShareVerdict } from '../redis/envelope';

/** Why a job was stopped in a state worth a diagnosis. */
export type DiagnosisKind = 'deadlock' | 'mismatch' | 'timeout' | 'cancel';

/** One rank at the moment its job was diagnosed. */
export interface RankDiagnosis {
  rank: number;
  state: RankState['state'];
  pending?: PendingOp[];
  /** The user's line it is at ("pi.py:41"), the MPI call it is in, its threads' stacks. */
  where?: string | null;
  call?: string | null;
  stack?: string | null;
}

export interface Diagnosis {
  kind: DiagnosisKind;
  /** Ranks grouped by where they are, as STAT does: "3 ranks at pi.py:41 in Reduce; rank 2 at pi.py:37 in recv". */
  summary: string;
  ranks: RankDiagnosis[];
}

/** The verdicts that come with a diagnosis: the ranks were stopped where they stood. */
export function diagnosisKind(verdict: Pick<ShareVerdict, 'status' | 'reason'>): DiagnosisKind | undefined {
  if (verdict.reason.startsWith('deadlock:')) return 'deadlock';
  if (verdict.reason.startsWith('collective mismatch')) return 'mismatch';
  if (verdict.status === 'TIMED_OUT') return 'timeout';
  if (verdict.status === 'CANCELLED') return 'cancel';
  return undefined;
}

/** A rank's state and, if it is blocked in MPI, where. */
export function rankDiagnosis(state: RankState, stack: RankStack | undefined): RankDiagnosis {
  return {
    rank: state.rank,
    state: state.state,
    ...(state.pending ? { pending: state.pending } : {}),
    where: stack?.where ?? null,
    call: stack?.call ?? null,
    stack: stack?.stack ?? null,
  };
}

/** The job's diagnosis from its agents' parts. */
export function combineDiagnoses(kind: DiagnosisKind, parts: readonly RankDiagnosis[][]): Diagnosis {
  const ranks = parts.flat().sort((a, b) => a.rank - b.rank);
  return { kind, summary: groupRanks(ranks), ranks };
}

/** "2 ranks at mutual.py:5 in recv; rank 3 running; rank 4 finished" */
export function groupRanks(ranks: readonly RankDiagnosis[]): string {
  const groups = new Map<string, number[]>();
  for (const rank of ranks) {
    const place =
      rank.state === 'blocked' && rank.where
        ? `at ${rank.where}${rank.call ? ` in ${rank.call}` : ''}`
        : rank.state === 'blocked'
          ? 'blocked in MPI'
          : rank.state;
    groups.set(place, [...(groups.get(place) ?? []), rank.rank]);
  }
  return [...groups]
    .map(([place, members]) => (members.length === 1 ? `rank ${members[0]} ${place}` : `${members.length} ranks (${members.join(',')}) ${place}`))
    .join('; ');
}
