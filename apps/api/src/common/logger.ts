import type { LoggerService } from '@nestjs/common';
import { pino, type Level, type Logger } from 'pino';
import type { ApiConfig } from '../config/api-config';
import { currentCorrelationId } from './request-context';

export interface Loggers {
  /** Nest's and the app's lines: each one written during a request carries its correlation id. */
  app: Logger;
  /** The one line per request (request-log.ts), which carries the correlation id itself. */
  http: Logger;
}

/** JSON logs on stdout. Two instances so that no line has the correlation id twice. */
export function createLoggers(config: Pick<ApiConfig, 'logLevel'>): Loggers {
  const options = { level: config.logLevel, base: { service: 'api' } };
  return {
    app: pino({
      ...options,
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
    }),
    http: pino(options),
  };
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
