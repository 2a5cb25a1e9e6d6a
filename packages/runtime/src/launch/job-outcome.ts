import type { Diagnosis } from './diagnosis';
import type { JobProfile } from './profile';

/** Final states of a run of the ranked runtime (the service's job statuses share them). */
export type JobOutcomeStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'CANCELLED';

export interface RankOutcome {
  rank: number;
  exitCode: number | null;
  signal: string | null;
  startedAt: Date;
  finishedAt: Date | undefined;
}

export interface JobOutcome {
  status: JobOutcomeStatus;
  /** What the launcher exits with: 0, the failing rank's code, 128+signal, the Abort code, 124 on timeout. */
  exitCode: number;
  /** One line for people, e.g. "rank 2 exited with code 1"; absent on success. */
  reason?: string;
  /** The rank the failure is blamed on. */
  failedRank?: number;
  /** Last lines of that rank's stderr. */
  stderrTail?: string;
  /** True when the failure is the infrastructure's (Redis lost), not the script's: retry-worthy. */
  infrastructure?: boolean;
  /** Where the ranks stood when a deadlock, mismatch, timeout or cancel stopped them. */
  diagnosis?: Diagnosis;
  /** Per MPI op and per rank, where the time went (from the ranks that reached Finalize). */
  profile?: JobProfile;
  ranks: RankOutcome[];
}
