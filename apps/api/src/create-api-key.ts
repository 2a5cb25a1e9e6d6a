#!/usr/bin/env node
// Makes an API key and prints it once; only its hash is stored (DATABASE_URL as for the api).
//   node apps/api/dist/create-api-key.js NAME                  a key of the default tenant
//   node apps/api/dist/create-api-key.js --tenant TEAM NAME    a key of tenant TEAM (made if missing)
// The admin API (POST /admin/tenants/{id}/api-keys) does the same over HTTP; this script is
// for bootstrapping (the quick start, a first key before any admin key is set up).
import { parseArgs } from 'node:util';
import { createPrismaClient, type PrismaClient } from '@mpiaas/db';
import { DEFAULT_TENANT_ID } from '@mpiaas/contracts';
import { issueApiKey } from './auth/api-key-secret';
import { loadConfig } from './config/api-config';

const USAGE = 'usage: create-api-key [--tenant TENANT] NAME';

/** The tenant named `name`, made (with the default quotas) if it does not exist yet. */
async function tenantNamed(db: PrismaClient, name: string): Promise<string> {
  const tenant = await db.tenant.upsert({ where: { name }, create: { name }, update: {} });
  return tenant.id;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { tenant: { type: 'string' } } });
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new Error(USAGE);
  const db = createPrismaClient(loadConfig(process.env).databaseUrl);
  try {
    const tenantId = values.tenant === undefined ? DEFAULT_TENANT_ID : await tenantNamed(db, values.tenant);
    const { key, record } = issueApiKey(tenantId, name);
    const row = await db.apiKey.create({ data: record });
    process.stderr.write(`created API key ${row.id} (${name}, ${record.prefix}…) of tenant ${tenantId}; it is shown only now:\n`);
    process.stdout.write(`${key}\n`);
  } finally {
    await db.$disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`create-api-key: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
