import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { TenantQuotas } from '@mpiaas/contracts';

/** Who a request acts for: set by the AuthGuard before any handler runs. */
export interface Caller {
  tenantId: string;
  /** The API key used; null with AUTH_MODE=none (no key, the default tenant). */
  keyId: string | null;
  /** The tenant's quotas in force (its own, else the configured defaults). */
  quotas: TenantQuotas;
}

/** Where the guard leaves the Caller on the request. */
export interface RequestWithCaller {
  caller?: Caller;
}

/** The request's Caller. Only on routes behind the AuthGuard (every route but public and admin ones). */
export const CurrentCaller = createParamDecorator((_data: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<RequestWithCaller>().caller;
  // A route that forgot it is public or admin would otherwise act for nobody: fail loudly.
  if (!caller) throw new Error('no caller on this request: is the route public or admin?');
  return caller;
});
