/**
 * The reconciler's clock, all derived from one setting so the recovery bound is a formula,
 * not a hope. The promise: a QUEUED job missing from the queue runs again within 30 s.
 */
export interface ReconcileTiming {
  /** Each worker tries a pass this often. */
  intervalMs: number;
  /**
   * How long a pass's lock is held: one pass per this period cluster-wide, however many
   * workers. Half the interval: the holder's next tick always finds it free again, and when
   * the holder dies another worker takes over after at most this.
   */
  lockTtlMs: number;
  /**
   * A job QUEUED more recently than this is left alone: the api enqueues right after its
   * insert, and a pass should not race every fresh job (it would be harmless — adding an id
   * the queue holds is a no-op — but costs a Redis call per job).
   */
  queuedGraceMs: number;
  /**
   * Worst case from a job missing from the queue (or inserted and never enqueued) to its
   * re-add: it becomes eligible after the grace, and passes are at most interval + lock TTL
   * apart (the holder of the last pass died just after taking the lock).
   */
  recoveryBoundMs: number;
}

export function reconcileTiming(intervalMs: number): ReconcileTiming {
  const lockTtlMs = Math.floor(intervalMs / 2);
  const queuedGraceMs = Math.floor(intervalMs / 2);
  return { intervalMs, lockTtlMs, queuedGraceMs, recoveryBoundMs: queuedGraceMs + intervalMs + lockTtlMs };
}
