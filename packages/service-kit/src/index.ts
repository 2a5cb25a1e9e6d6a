export { MetricsHttpServer, type MetricsServerLog } from './metrics-http-server';
export { PG_POOL, PgPoolShutdown } from './pg-pool-shutdown';
