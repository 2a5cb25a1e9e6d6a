import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CORRELATION_HEADER } from '@mpiaas/contracts';
import type { FastifyInstance } from 'fastify';

/** A caller's id is kept only if it is short and plain: it ends up in logs and job payloads. */
const SANE_CORRELATION_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request's correlation id: the caller's `x-correlation-id` if it is sane, else a new one. */
export function correlationIdOf(headers: IncomingHttpHeaders): string {
  const given = headers[CORRELATION_HEADER];
  return typeof given === 'string' && SANE_CORRELATION_ID.test(given) ? given : randomUUID();
}

/**
 * Echoes every request's id (Fastify's request.id, made by correlationIdOf) on its response,
 * also on responses written to the raw socket (SSE). Handlers get it with @CorrelationId().
 */
export function useCorrelationIds(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader(CORRELATION_HEADER, request.id);
    done();
  });
}
