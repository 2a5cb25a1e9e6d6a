/**
 * Tenants, their API keys and quotas: what the admin API, the api's admission and the
 * workers' placement agree on.
 */

/** The tenant that owns the jobs of AUTH_MODE=none and the keys made by create-api-key. */
export const DEFAULT_TENANT_ID = '00000000-0000-0000-0000-000000000000';
export const DEFAULT_TENANT_NAME = 'default';

/** A tenant's limits. In a request or a stored tenant, null (or absent) means the server's default. */
export interface TenantQuotas {
  /** Jobs it may have QUEUED at once; past it POST /jobs answers 429. */
  maxQueuedJobs: number;
  /** Ranks of its jobs that may run at once; past it jobs wait in line (they are not refused). */
  maxRunningRanks: number;
  /** Largest np of one job. */
  maxNp: number;
  /** Largest timeoutSeconds of one job. */
  maxTimeoutSeconds: number;
  /** Requests per minute per API key (AUTH_MODE=api-key). */
  requestsPerMinute: number;
}

export type QuotaName = keyof TenantQuotas;
export const QUOTA_NAMES: readonly QuotaName[] = ['maxQueuedJobs', 'maxRunningRanks', 'maxNp', 'maxTimeoutSeconds', 'requestsPerMinute'];

/** Defaults of the quotas of a tenant that sets none (the api's and the worker's config start from these). */
export const DEFAULT_QUOTAS = {
  maxQueuedJobs: 1000,
  maxRunningRanks: 1024,
  requestsPerMinute: 600,
  /** Queued ranks of all tenants together past which POST /jobs answers 503. */
  backlogMaxQueuedRanks: 100_000,
} as const;

export interface TenantView {
  id: string;
  name: string;
  /** In force: the tenant's own, or the server's default. */
  quotas: TenantQuotas;
  /** Which quotas the tenant sets itself (the others follow the server's defaults). */
  overrides: Partial<TenantQuotas>;
  createdAt: string;
}

export interface ApiKeyView {
  id: string;
  tenantId: string;
  name: string;
  /** The key's first characters: enough to tell keys apart, never enough to use one. */
  prefix: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** POST /admin/tenants/{id}/api-keys: the key itself is in this answer only. */
export interface CreatedApiKey extends ApiKeyView {
  key: string;
}

/** GET /usage: the caller's tenant, now. */
export interface UsageView {
  tenantId: string;
  queued: { jobs: number; ranks: number };
  running: { jobs: number; ranks: number };
  /** np × seconds run, of the jobs' runs overlapping the current UTC day and month. */
  rankSeconds: { day: number; month: number };
  quotas: TenantQuotas;
}

/** Body of a 429 or 503 from admission: the error body plus what was exceeded. */
export interface QuotaExceededBody {
  statusCode: number;
  error: string;
  message: string;
  correlationId: string;
  quota: QuotaName | 'backlogMaxQueuedRanks';
  limit: number;
  /** Current use, in the quota's unit (jobs, ranks, seconds, requests this minute). */
  used: number;
}
