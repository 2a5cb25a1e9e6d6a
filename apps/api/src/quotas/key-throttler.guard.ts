import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { RequestWithCaller } from '../auth/caller';
import { QuotaExceededException } from './quota-exceeded.exception';

/** The window of the requestsPerMinute quota, ms. */
export const RATE_WINDOW_MS = 60_000;

/**
 * Requests per minute per API key (the tenant's requestsPerMinute quota), counted in Redis
 * across all api replicas. Runs after the AuthGuard, which found the key. Requests without
 * a key are not counted: public routes, the admin API, and AUTH_MODE=none (where a gateway
 * in front is expected to limit callers it knows).
 */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return !keyOf(context);
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    return (req as RequestWithCaller).caller?.keyId ?? '';
  }

  /** All routes share one budget per key (the library's default is one per route). */
  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return tracker;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new QuotaExceededException(
      `quota requestsPerMinute exceeded: ${detail.totalHits} requests with this key in the current minute, limit ${detail.limit}`,
      { quota: 'requestsPerMinute', limit: detail.limit, used: detail.totalHits },
      detail.timeToBlockExpire,
    );
  }
}

function keyOf(context: ExecutionContext): string | null {
  return context.switchToHttp().getRequest<RequestWithCaller>().caller?.keyId ?? null;
}

/** The limit of the current request's key: its tenant's quota. */
export function requestsPerMinuteOf(context: ExecutionContext): number {
  return context.switchToHttp().getRequest<RequestWithCaller>().caller?.quotas.requestsPerMinute ?? Number.MAX_SAFE_INTEGER;
}
