import { HttpException, HttpStatus } from '@nestjs/common';
import type { QuotaExceededBody } from '@mpiaas/contracts';

export type QuotaDetails = Pick<QuotaExceededBody, 'quota' | 'limit' | 'used'>;

/**
 * A request refused by admission: 429 for a tenant's quota, 503 for the cluster's backlog.
 * The error filter adds `Retry-After` and the details (which quota, its limit, the use now)
 * to the usual error body.
 */
export class QuotaExceededException extends HttpException {
  constructor(
    message: string,
    readonly details: QuotaDetails,
    readonly retryAfterSeconds: number,
    status: HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE = HttpStatus.TOO_MANY_REQUESTS,
  ) {
    super(message, status);
  }
}
