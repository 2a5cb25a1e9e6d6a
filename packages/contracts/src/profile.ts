/** Milliseconds: the least, mean and most over the job's ranks. */
export interface MinAvgMaxView {
  min: number;
  avg: number;
  max: number;
}

/** One MPI operation, as the script called it (`Bcast` and `bcast` are two). */
export interface ProfileOpView {
  op: string;
  /** Calls by all ranks together. */
  calls: number;
  /** Payload bytes all ranks handed to the transport in these calls (what they sent). */
  bytes: number;
  /** Each rank's total time in the op; min/avg/max over the ranks (0 for a rank that never called it). */
  timeMs: MinAvgMaxView;
  /** The part of timeMs spent waiting for the last rank to arrive at a collective (imbalance); the rest moved data. */
  waitMs: MinAvgMaxView;
}

export interface ProfileRankView {
  rank: number;
  /** From the rank's `from mpi4py import MPI` (MPI_Init) to its Finalize. */
  wallMs: number;
  /** Time inside MPI calls (≤ wallMs). */
  mpiMs: number;
}

/** GET /jobs/{id}/profile: where the ranks' time went, per MPI op and per rank (IPM/mpiP-like). */
export interface JobProfileView {
  /** Most time first. */
  ops: ProfileOpView[];
  ranks: ProfileRankView[];
}
