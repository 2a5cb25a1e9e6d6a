import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** What the listener reports (a Nest Logger). */
export interface MetricsServerLog {
  log(message: string): void;
  error(message: string): void;
}

/**
 * A listener of its own for Prometheus: `GET /metrics` in the text format, 404 for anything
 * else. No Nest, no middleware, no API key: it serves nothing but aggregate numbers.
 */
export class MetricsHttpServer {
  private server: Server | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly log: MetricsServerLog,
  ) {}

  /** Listens on `port` (all interfaces); a port already taken is logged, never fatal. */
  async start(port: number, host?: string): Promise<number | undefined> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${error.message}\n`),
      );
    });
    server.keepAliveTimeout = 65_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.log.error(`metrics: cannot listen on :${port} (${(error as Error).message}); no metrics are served`);
      return undefined;
    }
    this.server = server;
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    this.log.log(`metrics on :${bound}/metrics`);
    return bound;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
