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

/** The jobs running on this worker, so a cancel message or a shutdown can reach them. */
@Injectable()
export class ActiveRuns {
  private readonly runs = new Map<string, ActiveRun>();

  add(jobId: string, controller: AbortController, done: Promise<unknown>): void {
    this.runs.set(jobId, { controller, done });
  }

  remove(jobId: string): void {
    this.runs.delete(jobId);
  }

  stop(jobId: string, reason: StopReason): boolean {
    const run = this.runs.get(jobId);
    if (!run) return false;
    run.controller.abort(reason);
    return true;
  }

  stopAll(reason: StopReason): void {
    for (const run of this.runs.values()) run.controller.abort(reason);
  }

  get size(): number {
    return this.runs.size;
  }

  /** Resolves when every job running now has ended (or after `ms`, whichever first). */
  async drained(ms: number): Promise<boolean> {
    const all = Promise.allSettled([...this.runs.values()].map((run) => run.done)).then(() => true);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return Promise.race([all, timeout]);
  }
}
