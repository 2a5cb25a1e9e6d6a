import type { JobStatus, JobView } from '@mpiaas/contracts';

/** What the CLI exits with for a finished job: like `mpiaas exec` (and mpirun). */
export function exitCodeOf(job: Pick<JobView, 'status' | 'exitCode'>): number {
  switch (job.status) {
    case 'SUCCEEDED':
      return 0;
    case 'FAILED':
      return job.exitCode && job.exitCode > 0 ? job.exitCode : 1;
    case 'TIMED_OUT':
      return 124;
    case 'CANCELLED':
      return 130;
    case 'QUEUED':
    case 'RUNNING':
      return 1;
  }
}

/** "job 1f2e… SUCCEEDED in 1.42s" or "… FAILED in 0.80s: rank 2 exited with code 1". */
export function finalStatusLine(job: JobView): string {
  const seconds =
    job.startedAt && job.finishedAt ? ((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000).toFixed(2) : undefined;
  const duration = seconds === undefined ? '' : ` in ${seconds}s`;
  const reason = job.reason ? `: ${job.reason}` : '';
  const where = job.diagnosisSummary ? `\n  where the ranks were: ${job.diagnosisSummary}` : '';
  return `job ${job.id} ${job.status}${duration}${reason}${where}`;
}

export function describeJob(job: JobView): string {
  const lines = [
    `id:        ${job.id}`,
    `name:      ${job.name ?? '-'}`,
    `status:    ${job.status}${job.reason ? ` (${job.reason})` : ''}`,
    `np:        ${job.np} (placement ${job.placement}${job.oversubscribe ? ', may oversubscribe' : ''}${job.launcher === 'futures' ? ', launcher futures' : ''})`,
    `exit code: ${job.exitCode ?? '-'}`,
    `created:   ${job.createdAt}`,
    `started:   ${job.startedAt ?? '-'}`,
    `finished:  ${job.finishedAt ?? '-'}`,
  ];
  if (job.pending) {
    const { reason, slotsNeeded, slotsFree } = job.pending;
    lines.push(`waiting:   ${reason} (needs ${slotsNeeded} slots, ${slotsFree} free)`);
  }
  if (Object.keys(job.labels).length > 0) {
    lines.push(`labels:    ${Object.entries(job.labels).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  for (const rank of job.ranks) {
    const end = rank.signal ? `signal ${rank.signal}` : rank.exitCode === null ? 'running' : `exit ${rank.exitCode}`;
    const where = rank.worker ? ` on ${rank.worker}` : '';
    lines.push(
      `rank ${rank.rank}:    ${end}${where}, ${rank.stdoutBytes} B stdout, ${rank.stderrBytes} B stderr${rank.truncated ? ' (truncated)' : ''}`,
    );
  }
  if (job.diagnosisSummary) lines.push(`ranks at:  ${job.diagnosisSummary} (details: GET /jobs/${job.id}/diagnosis)`);
  if (job.stderrTail) lines.push('stderr tail:', ...job.stderrTail.split('\n').map((line) => `  ${line}`));
  return lines.join('\n');
}

export const isFinal = (status: JobStatus): boolean => !['QUEUED', 'RUNNING'].includes(status);
