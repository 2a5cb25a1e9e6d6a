import { type CallHandler, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import type { JobView } from '@mpiaas/contracts';
import { ApiMetrics } from './api-metrics';

/**
 * Counts the jobs POST /jobs/{id}/cancel ended itself, from its answers (so that the jobs
 * module knows nothing of metrics): a CANCELLED job is a QUEUED one this replica ended; a
 * RUNNING one is ended, and counted, by its worker. Bound to that one handler: Nest runs
 * every call of a handler with interceptors through rxjs, which POST /jobs cannot afford
 * (its submissions are counted by countSubmittedJobs instead).
 */
@Injectable()
export class CancelledJobsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: ApiMetrics) {}

  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(tap((view) => (view as JobView | undefined)?.status === 'CANCELLED' && this.metrics.jobFinished('CANCELLED')));
  }
}
