import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ApiMetrics } from './api-metrics';
import { MetricsInterceptor } from './metrics.interceptor';

/** Prometheus metrics on METRICS_PORT (docs/metrics.md); counts the jobs routes' answers. */
@Module({
  providers: [ApiMetrics, { provide: APP_INTERCEPTOR, useClass: MetricsInterceptor }],
  exports: [ApiMetrics],
})
export class MetricsModule {}
