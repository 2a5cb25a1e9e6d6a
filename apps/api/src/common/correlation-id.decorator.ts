import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { RequestWithId } from './correlation-id.middleware';

/** The request's correlation id (set by correlationIdMiddleware). */
export const CorrelationId = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): string => ctx.switchToHttp().getRequest<RequestWithId>().id ?? '',
);
