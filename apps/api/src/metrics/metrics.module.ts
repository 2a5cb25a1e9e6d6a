import { Global, Module } from '@nestjs/common';
import { ApiMetrics } from './api-metrics';
import { MetricsInterceptor } from './metrics.interceptor';

/**
 * Prometheus metrics on METRICS_PORT (docs/metrics.md); counts the jobs routes' answers.
 * The interceptor is bound to JobsController only, never globally: any global interceptor
 * turns an error thrown before an SSE stream starts (404 on GET /jobs/{id}/events) into a
 * 200 stream, Nest's SSE handling being what it is.
 */
@Global()
@Module({
  providers: [ApiMetrics, MetricsInterceptor],
  exports: [ApiMetrics, MetricsInterceptor],
})
export class MetricsModule {}
