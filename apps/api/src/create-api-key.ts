#!/usr/bin/env node
// Makes an API key for AUTH_MODE=api-key and prints it once; only its hash is stored.
// Usage: node apps/api/dist/create-api-key.js NAME     (DATABASE_URL as for the api)
import { createPrismaClient } from '@mpiaas/db';
import { apiKeyHash, newApiKey } from './auth/api-key-secret';
import { loadConfig } from './config/api-config';

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name) throw new Error('usage: create-api-key NAME');
  const db = createPrismaClient(loadConfig(process.env).databaseUrl);
  try {
    const key = newApiKey();
    const row = await db.apiKey.create({ data: { name, keyHash: apiKeyHash(key) } });
    process.stderr.write(`created API key ${row.id} (${name}); it is shown only now:\n`);
    process.stdout.write(`${key}\n`);
  } finally {
    await db.$disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`create-api-key: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
