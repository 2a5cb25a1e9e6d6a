import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** The request's correlation id (its request.id: see correlationIdOf). */
export const CorrelationId = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): string => ctx.switchToHttp().getRequest<{ id?: string }>().id ?? '',
);
