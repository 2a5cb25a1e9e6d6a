// Prisma CLI configuration (Prisma 7). Not at the repository root, so pass it explicitly:
//   npx prisma <command> --config prisma/prisma.config.ts
// Paths below are relative to this file.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  // Only migrate/db/studio need a URL; `prisma generate` runs without one.
  ...(process.env.DATABASE_URL ? { datasource: { url: process.env.DATABASE_URL } } : {}),
});
