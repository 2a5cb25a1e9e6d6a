/** Lifecycle of a job: QUEUED → RUNNING → one of the final statuses. Never renamed. */
export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const FINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];

export function isFinalStatus(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** The reason of a job cancelled through POST /jobs/{id}/cancel, whoever ends it (api or worker). */
export const CANCELLED_BY_USER = 'cancelled by user';
