import { Injectable } from '@nestjs/common';
import type { ShareReport } from './share-order';

/**
 * Hands each share report this worker receives (as the leader of its job) to the job's
 * collector, by run id. A report for a run nobody here waits for (the leader restarted, the
 * run gave up on it) is dropped: that attempt is over.
 */
@Injectable()
export class ReportRouter {
  private readonly handlers = new Map<string, (report: ShareReport) => void>();

  /** Routes the reports of `runId` to `handler` until the returned function is called. */
  listen(runId: string, handler: (report: ShareReport) => void): () => void {
    this.handlers.set(runId, handler);
    return () => {
      if (this.handlers.get(runId) === handler) this.handlers.delete(runId);
    };
  }

  deliver(report: ShareReport): void {
    this.handlers.get(report.runId)?.(report);
  }
}
