import 'reflect-metadata';
import { type INestApplication, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { pinoHttp } from 'pino-http';
import { AppModule } from './app.module';
import { ApiErrorFilter } from './common/api-error.filter';
import { correlationIdMiddleware, type RequestWithId } from './common/correlation-id.middleware';
import { createLoggers, PinoLoggerService } from './common/logger';
import { resolveConstraintsFromNest } from './common/validator-container';
import type { ApiConfig } from './config/api-config';
import { ConfiguredMaxConstraint } from './jobs/validation/configured-max.validator';
import { setUpSwagger } from './swagger';

/**
 * The whole api, configured but not listening: main.ts listens on it, tests drive it with
 * supertest. Same middleware, pipes, filters and docs either way.
 */
export async function createApp(config: ApiConfig): Promise<INestApplication> {
  const loggers = createLoggers(config);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new PinoLoggerService(loggers.app),
    bodyParser: false,
    // An open event stream would otherwise keep app.close() waiting forever.
    forceCloseConnections: true,
  });
  app.disable('x-powered-by');

  // Order matters: the correlation id first so that every later log line and error has it,
  // the body parser after it so that 413 and malformed-JSON answers carry it too.
  app.use(correlationIdMiddleware);
  app.use(
    pinoHttp({
      logger: loggers.http,
      genReqId: (req) => (req as RequestWithId).id ?? '',
      customAttributeKeys: { reqId: 'correlationId' },
      quietReqLogger: true,
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      // pino-http invents an Error for every 5xx; the exception filter logs the real one.
      customErrorObject: (_req, _res, _error, value: object) => ({ ...value, err: undefined }),
      // Headers would put Idempotency-Keys and any future credentials in the logs.
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.useBodyParser('json', { limit: config.bodyLimit });

  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  app.useGlobalFilters(new ApiErrorFilter());
  resolveConstraintsFromNest(app, [ConfiguredMaxConstraint]);

  setUpSwagger(app, config);
  app.enableShutdownHooks();
  await app.init();
  return app;
}
