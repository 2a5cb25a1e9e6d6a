import type { ShareOutcome } from './agent-share';
import { combineDiagnoses } from './diagnosis';
import type { JobOutcome, RankOutcome } from './job-outcome';
import { buildJobProfile } from './profile';

/**
 * The job's outcome from its agents' shares. The verdict is the earliest one an agent saw
 * itself (the others only echo it, or were told of it); ranks of a share that never
 * reported (its worker lost) appear without an exit.
 */
export function combineShares(shares: readonly ShareOutcome[], np: number, startedAt: Date): JobOutcome {
  const verdicts = shares.flatMap((share) => (share.verdict ? [share.verdict] : []));
  const local = verdicts.filter((verdict) => verdict.origin === 'local');
  const verdict = (local.length > 0 ? local : verdicts).sort((a, b) => a.at - b.at)[0];
  const byRank = new Map<number, RankOutcome>();
  for (const share of shares) for (const rank of share.ranks) byRank.set(rank.rank, rank);
  const ranks = Array.from(
    { length: np },
    (_, rank): RankOutcome => byRank.get(rank) ?? { rank, exitCode: null, signal: null, startedAt, finishedAt: undefined },
  );
  const profile = buildJobProfile(shares.flatMap((share) => share.profiles ?? []));
  if (!verdict) return { status: 'SUCCEEDED', exitCode: 0, ranks, ...(profile ? { profile } : {}) };
  const outcome: JobOutcome = { status: verdict.status, exitCode: verdict.exitCode, reason: verdict.reason, ranks, ...(profile ? { profile } : {}) };
  if (verdict.infrastructure) outcome.infrastructure = true;
  const parts = shares.flatMap((share) => (share.diagnosis ? [share.diagnosis] : []));
  // Shares whose ranks had all exited before the verdict have nothing to say but that.
  const exited = shares.filter((share) => !share.diagnosis).flatMap((share) => share.ranks.map((rank) => ({ rank: rank.rank, state: 'finished' as const })));
  if (parts[0]) outcome.diagnosis = combineDiagnoses(parts[0].kind, [...parts.map((part) => part.ranks), exited]);
  if (verdict.failedRank !== undefined) {
    outcome.failedRank = verdict.failedRank;
    outcome.stderrTail = verdict.stderrTail ?? '';
  }
  return outcome;
}
