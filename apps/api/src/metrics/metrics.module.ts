import { Global, Module } from '@nestjs/common';
import { ApiMetrics } from './api-metrics';
import { CancelledJobsInterceptor } from './cancelled-jobs.interceptor';

/**
 * Prometheus metrics on METRICS_PORT (docs/metrics.md); counts the jobs routes' answers
 * (countSubmittedJobs, CancelledJobsInterceptor). The interceptor is bound to the cancel
 * handler only, never globally: any global interceptor turns an error thrown before an SSE
 * stream starts (404 on GET /jobs/{id}/events) into a 200 stream, Nest's SSE handling being
 * what it is.
 */
@Global()
@Module({
  providers: [ApiMetrics, CancelledJobsInterceptor],
  exports: [ApiMetrics, CancelledJobsInterceptor],
})
export class MetricsModule {}
