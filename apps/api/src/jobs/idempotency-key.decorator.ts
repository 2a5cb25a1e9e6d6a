import { BadRequestException, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { IDEMPOTENCY_HEADER } from '@mpiaas/contracts';

/** Printable ASCII, as HTTP header values should be; long enough for any UUID or hash. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's Idempotency-Key header, checked; undefined when absent. */
export const IdempotencyKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): string | undefined => {
  const value = ctx.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>().headers[IDEMPOTENCY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new BadRequestException(`${IDEMPOTENCY_HEADER} must be 1-255 printable ASCII characters without spaces`);
  }
  return value;
});
