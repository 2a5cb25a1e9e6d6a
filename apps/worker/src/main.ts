import { Logger } from '@nestjs/common';
import { loadWorkerConfig } from './config/worker-config';
import { createWorker } from './worker-app';
import { PinoLogger } from './common/pino-logger';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  await createWorker(config, new PinoLogger(config.LOG_LEVEL, 'worker'));
}

main().catch((error: unknown) => {
  new Logger('worker').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
