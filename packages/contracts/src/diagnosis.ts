/** What a rank waited for when its job was diagnosed (world ranks). */
export interface PendingOpView {
  op: string;
  peer?: number | 'any';
  tag?: number | 'any';
  comm: string;
  root?: number;
  collective?: true;
}

export interface RankDiagnosisView {
  rank: number;
  state: 'blocked' | 'finished' | 'running';
  pending?: PendingOpView[];
  /** The script line the rank was at ("pi.py:41") and the MPI call it was in. */
  where?: string | null;
  call?: string | null;
  /** Every thread's Python stack (the mpi4py layer's frames left out). */
  stack?: string | null;
}

/** GET /jobs/{id}/diagnosis: where every rank stood when the job was stopped. */
export interface JobDiagnosisView {
  kind: 'deadlock' | 'mismatch' | 'timeout' | 'cancel';
  /** Ranks grouped by place: "3 ranks (0,1,3) at pi.py:41 in Reduce; rank 2 at pi.py:37 in recv". */
  summary: string;
  ranks: RankDiagnosisView[];
}
