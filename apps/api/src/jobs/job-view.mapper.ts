import type { Job, JobRank } from '@mpiaas/db';
import { FINAL_STATUSES, type JobStatus, type JobView, type PendingView, type RankView } from '@mpiaas/contracts';

export type JobWithRanks = Job & { ranks: JobRank[] };

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function toRankView(rank: JobRank): RankView {
  return {
    rank: rank.rank,
    worker: rank.workerId,
    exitCode: rank.exitCode,
    signal: rank.signal,
    startedAt: iso(rank.startedAt),
    finishedAt: iso(rank.finishedAt),
    stdoutBytes: Number(rank.stdoutBytes),
    stderrBytes: Number(rank.stderrBytes),
    truncated: rank.truncated,
  };
}

/** A job as the api shows it: never the script or env (they can be large or secret). */
export function toJobView(job: JobWithRanks, pending: PendingView | null = null): JobView {
  return {
    id: job.id,
    name: job.name,
    labels: job.labels as Record<string, string>,
    status: job.status,
    reason: job.reason,
    np: job.np,
    args: job.args,
    timeoutSeconds: job.timeoutSeconds,
    placement: job.placement === 'SPREAD' ? 'spread' : 'pack',
    oversubscribe: job.oversubscribe,
    launcher: job.launcher === 'FUTURES' ? 'futures' : 'script',
    pending: job.status === 'QUEUED' ? pending : null,
    exitCode: job.exitCode,
    failedRank: job.failedRank,
    stderrTail: job.stderrTail,
    diagnosisSummary: (job.diagnosis as { summary?: string } | null)?.summary ?? null,
    result: job.result ?? null,
    resultError: job.resultError,
    filesDropped: job.filesDropped,
    filesExpiredAt: iso(job.filesExpiredAt),
    webhook: job.webhookUrl
      ? {
          url: job.webhookUrl,
          events: (job.webhookEvents.length > 0 ? job.webhookEvents : FINAL_STATUSES) as JobStatus[],
          signed: job.webhookSecret !== null,
        }
      : null,
    createdAt: job.createdAt.toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    ranks: job.ranks.map(toRankView),
  };
}
