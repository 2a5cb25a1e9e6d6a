import { STATUS_CODES } from 'node:http';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import type { ErrorBody } from '@mpiaas/contracts';
import { QuotaExceededException } from '../quotas/quota-exceeded.exception';
import { requestLine } from './logger';

/**
 * The one error body of the api. HttpExceptions keep their status and message (validation
 * lists every broken rule); anything else is a 500 that says nothing about the cause, which
 * is logged with the request's correlation id instead.
 */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiErrorFilter.name);

  constructor(private readonly http: AbstractHttpAdapter) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<{ id?: string }>();
    const res: unknown = http.getResponse();
    const correlationId = req.id ?? 'unknown';

    let statusCode = 500;
    let message: ErrorBody['message'] = 'Internal server error';
    if (exception instanceof HttpException) {
      statusCode = exception.getStatus();
      message = messageOf(exception);
    }
    if (statusCode >= 500 && !(exception instanceof HttpException)) {
      const line = requestLine(correlationId, exception instanceof Error ? exception.message : String(exception));
      this.logger.error(exception instanceof Error ? { ...line, err: exception } : line);
    }
    // A stream (SSE, plain-text log) that fails after its headers went out can only be cut.
    if (this.http.isHeadersSent(res)) {
      this.http.end(res);
      return;
    }
    const body: ErrorBody = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, correlationId };
    if (exception instanceof QuotaExceededException) {
      // Which quota, its limit and the use now: a client can tell what to wait for or ask for.
      this.http.setHeader(res, 'Retry-After', String(exception.retryAfterSeconds));
      Object.assign(body, exception.details);
    }
    this.http.reply(res, body, statusCode);
  }
}

function messageOf(exception: HttpException): ErrorBody['message'] {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message) && message.every((m) => typeof m === 'string')) return message;
  return exception.message;
}
