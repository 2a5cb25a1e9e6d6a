import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while handling a request carries. */
export interface RequestContext {
  correlationId: string;
}

/**
 * The request being handled, wherever the code runs (services, repositories, the exception
 * filter) — so that no signature has to thread the correlation id through by hand.
 */
export const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentCorrelationId(): string | undefined {
  return requestContext.getStore()?.correlationId;
}
