import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CORRELATION_HEADER } from '@mpiaas/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requestContext } from './request-context';

/** A caller's id is kept only if it is short and plain: it ends up in logs and job payloads. */
const SANE_CORRELATION_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request's correlation id: the caller's `x-correlation-id` if it is sane, else a new one. */
export function correlationIdOf(headers: IncomingHttpHeaders): string {
  const given = headers[CORRELATION_HEADER];
  return typeof given === 'string' && SANE_CORRELATION_ID.test(given) ? given : randomUUID();
}

/** Where a request keeps the async scope its handling runs in (see useCorrelationIds). */
const scopes = new WeakMap<FastifyRequest, AsyncResource>();

/**
 * Echoes every request's id (Fastify's request.id, made by correlationIdOf) on its response —
 * also on responses written to the raw socket (SSE) — and runs the request's handling inside
 * its RequestContext. The body is read from the socket's events, outside any context: the
 * scope entered when the request came in is entered again once it is parsed (as
 * @fastify/request-context does), so guards, handlers and their log lines have it.
 */
export function useCorrelationIds(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.raw.setHeader(CORRELATION_HEADER, request.id);
    requestContext.run({ correlationId: request.id }, () => {
      scopes.set(request, new AsyncResource('mpiaas:request'));
      done();
    });
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    const scope = scopes.get(request);
    if (scope) scope.runInAsyncScope(done);
    else done();
  });
}
