import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './config/api-config';
import { createApp } from './create-app';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  // All interfaces, IPv6 and IPv4 (Fastify alone would listen on localhost only); IPv4 where
  // the kernel has no IPv6.
  await app.listen(config.port, '::').catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EAFNOSUPPORT' && error.code !== 'EADDRNOTAVAIL') throw error;
    await app.listen(config.port, '0.0.0.0');
  });
  new Logger('Main').log(`listening on :${config.port} (docs at /docs)`);
}

main().catch((error: unknown) => {
  // Refuse to start; a bad config is explained without a stack trace.
  process.stderr.write(`mpiaas api: ${error instanceof ConfigError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
