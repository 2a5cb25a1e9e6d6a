import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * One line per answered request: method, URL (no headers: they may hold keys), status and
 * time, with the correlation id; level error for a 5xx, info otherwise. Skipped at once when
 * the level is off (LOG_LEVEL=warn), which costs nothing per request.
 */
export function useRequestLog(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const statusCode = reply.statusCode;
    const level = statusCode >= 500 ? 'error' : 'info';
    if (logger.isLevelEnabled(level)) {
      logger[level](
        {
          correlationId: request.id,
          req: { method: request.method, url: request.url },
          res: { statusCode },
          responseTime: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    }
    done();
  });
}
