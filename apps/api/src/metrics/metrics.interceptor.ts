import { type CallHandler, type ExecutionContext, HttpStatus, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import type { JobView } from '@mpiaas/contracts';
import { ApiMetrics } from './api-metrics';

/**
 * Counts what the jobs routes did from their answers, so that the jobs module knows nothing
 * of metrics: a 201 from POST /jobs is a submitted job (a replay answers 200), a CANCELLED
 * job from POST /jobs/{id}/cancel is one this replica ended (a RUNNING one is ended, and
 * counted, by its worker).
 */
@Injectable()
export class MetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: ApiMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // Bound to JobsController (@UseInterceptors): its handlers, by name.
    const handler = context.getHandler().name;
    if (context.getType() !== 'http') return next.handle();
    if (handler === 'create') {
      const res = context.switchToHttp().getResponse<{ statusCode: number }>();
      return next.handle().pipe(tap(() => res.statusCode === (HttpStatus.CREATED as number) && this.metrics.jobSubmitted()));
    }
    if (handler === 'cancel') {
      return next.handle().pipe(tap((view) => (view as JobView | undefined)?.status === 'CANCELLED' && this.metrics.jobFinished('CANCELLED')));
    }
    return next.handle();
  }
}
