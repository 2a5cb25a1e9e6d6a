import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import type { WorkerConfig } from './config/worker-config';
import { WorkerModule } from './worker.module';
import { resolvePythonInterpreter } from './runs/python-interpreter';
import { compileRankShim, installRankShim } from './runs/rank-shim';
import { removeStaleCgroups } from './runs/job-cgroup';
import { isStaleScratch, removeStaleScratch } from './runs/worker-scratch';

/** Builds the worker exactly as `main.ts` runs it; tests start it the same way. */
export async function createWorker(config: WorkerConfig, logger?: LoggerService | false): Promise<INestApplicationContext> {
  const base = config.RANK_UID_BASE;
  const rankUser = base === undefined ? undefined : { uid: base, gid: base };
  await removeStaleCgroups(config.CGROUP_ROOT, isStaleScratch);
  const stale = await removeStaleScratch(config.WORK_DIR);
  if (stale.length > 0) new Logger('Worker').warn(`removed what dead workers left in ${config.WORK_DIR}: ${stale.join(', ')}`);
  const shimPath = config.MPIAAS_SHIM_PATH ?? (await installRankShim(config.WORK_DIR));
  const python = resolvePythonInterpreter(config.MPIAAS_PYTHON, shimPath, rankUser);
  await compileRankShim(shimPath, python);
  const resolved: WorkerConfig = { ...config, MPIAAS_SHIM_PATH: shimPath, MPIAAS_PYTHON: python };
  const app = await NestFactory.createApplicationContext(WorkerModule.forConfig(resolved), {
    logger: logger ?? undefined,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  await app.init();
  return app;
}
