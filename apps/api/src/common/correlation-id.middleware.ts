import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CORRELATION_HEADER } from '@mpiaas/contracts';
import { requestContext } from './request-context';

/** A caller's id is kept only if it is short and plain: it ends up in logs and job payloads. */
const SANE_CORRELATION_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export type RequestWithId = IncomingMessage & { id?: string };

/**
 * Express middleware, first in the chain: takes the caller's `x-correlation-id` (or makes
 * one), echoes it on the response and runs the rest of the request inside its context.
 */
export function correlationIdMiddleware(req: RequestWithId, res: ServerResponse, next: () => void): void {
  const given = req.headers[CORRELATION_HEADER];
  const correlationId = typeof given === 'string' && SANE_CORRELATION_ID.test(given) ? given : randomUUID();
  req.id = correlationId;
  res.setHeader(CORRELATION_HEADER, correlationId);
  requestContext.run({ correlationId }, next);
}
