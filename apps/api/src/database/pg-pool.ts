/**
 * The api's small node-postgres pool (PG_POOL of @mpiaas/service-kit) beside the Prisma
 * client, for the one statement of the hot path (JobRepository.createQueuedMany): a raw query
 * through Prisma costs about a millisecond of CPU by itself, four times what the same query
 * costs here, and POST /jobs runs hundreds of them a second. Everything else goes through Prisma.
 */
export { PG_POOL } from '@mpiaas/service-kit';

/** Connections of the pool: batches of submissions in flight at once, with room to spare. */
export const PG_POOL_SIZE = 4;
