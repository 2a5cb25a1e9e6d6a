import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { ApiConfig } from '../config/api-config';

/**
 * JSON logs on stdout (or `destination`): Nest's and the app's lines, and the one line per
 * request (request-log.ts). A line written while handling a request names the request's
 * correlation id itself (requestLine): the id is passed to where it is logged, not looked up
 * from an AsyncLocalStorage, whose promise hooks (on every promise of the process) took 8% of
 * the api's busy time under POST /jobs load (bench/post-jobs.mjs --profile).
 */
export function createLogger(config: Pick<ApiConfig, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel, base: { service: 'api' } };
  return destination ? pino(options, destination) : pino(options);
}

/** A log line of a request's handling (Nest's Logger takes it as the message): `msg` and the request's id. */
export function requestLine(correlationId: string, msg: string): { msg: string; correlationId: string } {
  return { msg, correlationId };
}

/**
 * Nest's `Logger` written through pino. Nest appends the logger's context (the class name)
 * as the last parameter; `error` may get a stack before it, or a stack alone.
 */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    const [first, ...rest] = params;
    const isStack = params.length > 1 || (typeof first === 'string' && first.includes('\n    at '));
    if (isStack && first !== undefined) this.write('error', message, rest, { trace: first });
    else this.write('error', message, isStack ? rest : params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[], extra: object = {}): void {
    const context = params.at(-1);
    const fields = { ...extra, ...(typeof context === 'string' ? { context } : {}) };
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger[level]({ ...fields, ...message });
    else this.logger[level](fields, String(message));
  }
}
