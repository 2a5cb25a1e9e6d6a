export { createPrismaClient, type CreatePrismaClientOptions } from './client';
export { changeJobStatus, type JobStatusChange } from './job-status-change';
export { createPgPool } from './pg-pool';
export {
  migrate,
  readMigrations,
  migrationChecksum,
  MigrationError,
  DEFAULT_MIGRATIONS_DIR,
  type MigrateOptions,
  type MigrateResult,
  type MigrationFile,
} from './migrate';
// The generated client: the class, the Prisma namespace (input types, errors, JsonValue, ...),
// the enums (values and types) and the model types.
export { PrismaClient, Prisma, JobStatus, LogStream, Placement, Launcher } from './generated/prisma/client.js';
export type { Job, JobRank, LogChunk, JobTransition, ApiKey, Tenant } from './generated/prisma/client.js';
