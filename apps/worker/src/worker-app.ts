import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import type { WorkerConfig } from './config/worker-config';
import { WorkerModule } from './worker.module';
import { resolvePythonInterpreter } from './runs/python-interpreter';

/** Builds the worker exactly as `main.ts` runs it; tests start it the same way. */
export async function createWorker(config: WorkerConfig, logger?: LoggerService | false): Promise<INestApplicationContext> {
  const base = config.RANK_UID_BASE;
  const rankUser = base === undefined ? undefined : { uid: base, gid: base };
  const resolved: WorkerConfig = { ...config, MPIAAS_PYTHON: resolvePythonInterpreter(config.MPIAAS_PYTHON, rankUser) };
  const app = await NestFactory.createApplicationContext(WorkerModule.forConfig(resolved), {
    logger: logger ?? undefined,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  await app.init();
  return app;
}
