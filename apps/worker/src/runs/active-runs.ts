import { Injectable } from '@nestjs/common';

/**
 * Why a running job is being stopped by the worker rather than by its own ranks: a cancel
 * request, this worker shutting down, or the queue having given the job to another worker
 * (this one lost its lock, e.g. stalled past the lock duration).
 */
export type StopReason = 'cancel' | 'shutdown' | 'lost';

interface ActiveRun {
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * How long a cancel is remembered for runs of the job that register after it: a share still
 * preparing its workspace when the cancel came (its leader, registered first, took the cancel
 * and stopped asking), or one on a worker the order had not reached yet.
 */
const CANCEL_MEMORY_MS = 10 * 60_000;

/**
 * What runs on this worker, by job id, so a cancel message or a shutdown can reach it: the
 * share of a job's ranks it hosts, and the leading of jobs it placed (one job may have both).
 */
@Injectable()
export class ActiveRuns {
  private readonly runs = new Map<string, Set<ActiveRun>>();
  /** Jobs cancelled lately (by id, when), in the order cancelled. */
  private readonly cancelled = new Map<string, number>();

  /** Whether this worker runs (a share of) the job now. */
  has(jobId: string): boolean {
    return this.runs.has(jobId);
  }

  /**
   * Registers a run; call the returned function when it has ended. A run of a job cancelled
   * lately is stopped at once: the cancel may have come while it was being prepared.
   */
  add(jobId: string, controller: AbortController, done: Promise<unknown>): () => void {
    const run = { controller, done };
    const runs = this.runs.get(jobId) ?? new Set<ActiveRun>();
    runs.add(run);
    this.runs.set(jobId, runs);
    if (this.wasCancelled(jobId)) controller.abort('cancel' satisfies StopReason);
    return () => {
      runs.delete(run);
      if (runs.size === 0 && this.runs.get(jobId) === runs) this.runs.delete(jobId);
    };
  }

  /** Stops the job's runs here; a cancel also stops those registered later. Whether any ran. */
  stop(jobId: string, reason: StopReason): boolean {
    if (reason === 'cancel') this.rememberCancel(jobId);
    const runs = this.runs.get(jobId);
    if (!runs) return false;
    for (const run of runs) run.controller.abort(reason);
    return true;
  }

  private rememberCancel(jobId: string): void {
    this.cancelled.delete(jobId);
    this.cancelled.set(jobId, Date.now());
    this.forgetOldCancels();
  }

  private wasCancelled(jobId: string): boolean {
    this.forgetOldCancels();
    return this.cancelled.has(jobId);
  }

  private forgetOldCancels(): void {
    const before = Date.now() - CANCEL_MEMORY_MS;
    for (const [jobId, at] of this.cancelled) {
      if (at > before) break; // in the order cancelled: the rest are newer
      this.cancelled.delete(jobId);
    }
  }

  stopAll(reason: StopReason): void {
    for (const runs of this.runs.values()) for (const run of runs) run.controller.abort(reason);
  }

  /** How many jobs have something running here. */
  get size(): number {
    return this.runs.size;
  }

  /** Resolves when everything running now has ended (or after `ms`, whichever first). */
  async drained(ms: number): Promise<boolean> {
    const all = Promise.allSettled([...this.runs.values()].flatMap((runs) => [...runs].map((run) => run.done))).then(() => true);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return Promise.race([all, timeout]);
  }
}
