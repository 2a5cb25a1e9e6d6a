import { z } from 'zod';
import { DEFAULT_QUOTAS, type TenantQuotas } from '@mpiaas/contracts';
import { storageConfigSchema, type StorageConfig } from '@mpiaas/storage';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const envSchema = z
  .object({
    PORT: int(1, 65_535, 3000),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
      .default('postgresql://postgres:postgres@127.0.0.1:5432/mpiaas'),
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
    // '{…}' allowed: Redis Cluster users put the prefix in a hash tag.
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.{}-]{1,64}$/, 'must be 1-64 letters, digits or _ . - { }')
      .default('mpiaas'),
    MAX_NP: int(1, 65_536, 1024),
    DEFAULT_TIMEOUT_SECONDS: int(1, 31 * 86_400, 600),
    MAX_TIMEOUT_SECONDS: int(1, 31 * 86_400, 86_400),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i, 'must be a size such as 2mb, 512kb or 100000b')
      .default('2mb'),
    REDIS_TIMEOUT_MS: int(50, 60_000, 5000),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    AUTH_MODE: z.enum(['none', 'api-key']).default('none'),
    // Long enough that guessing it is hopeless; `openssl rand -hex 32` makes one.
    ADMIN_API_KEY: z.string().regex(/^[\x21-\x7e]{32,256}$/, 'must be 32-256 printable characters without spaces').optional(),
    TENANT_MAX_QUEUED_JOBS: int(1, 10_000_000, DEFAULT_QUOTAS.maxQueuedJobs),
    TENANT_MAX_RUNNING_RANKS: int(1, 10_000_000, DEFAULT_QUOTAS.maxRunningRanks),
    TENANT_REQUESTS_PER_MINUTE: int(1, 10_000_000, DEFAULT_QUOTAS.requestsPerMinute),
    BACKLOG_MAX_QUEUED_RANKS: int(1, 1_000_000_000, DEFAULT_QUOTAS.backlogMaxQueuedRanks),
    // 0: no metrics listener.
    METRICS_PORT: int(0, 65_535, 9464),
    WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
    WEBHOOK_ATTEMPTS: int(1, 100, 9),
    WEBHOOK_BACKOFF_MS: int(10, 3_600_000, 5000),
    WEBHOOK_TIMEOUT_MS: int(100, 120_000, 10_000),
    WEBHOOK_POLL_MS: int(50, 60_000, 1000),
  })
  .refine((env) => env.DEFAULT_TIMEOUT_SECONDS <= env.MAX_TIMEOUT_SECONDS, {
    path: ['DEFAULT_TIMEOUT_SECONDS'],
    message: 'must not be greater than MAX_TIMEOUT_SECONDS',
  });

/** The api's whole configuration, read from the environment once at boot. */
export interface ApiConfig {
  port: number;
  databaseUrl: string;
  redisUrl: string;
  /** BullMQ key prefix; also names the control channel (`<prefix>:control`). */
  queuePrefix: string;
  /** Largest `np` a job may ask for. */
  maxNp: number;
  /** `timeoutSeconds` of a job that gives none. */
  defaultTimeoutSeconds: number;
  maxTimeoutSeconds: number;
  /** Largest JSON body, in body-parser's notation ('2mb'); the script is JSON-escaped in it. */
  bodyLimit: string;
  /** How long a request waits on Redis (enqueue, publish, readiness) before giving up, ms. */
  redisTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /**
   * 'api-key': every route but the health checks and the docs needs `Authorization: Bearer
   * <key>` with a key made by `create-api-key` and not revoked. 'none': no authentication
   * (a private network, or a gateway in front that does it).
   */
  authMode: 'none' | 'api-key';
  /** Bearer key of the admin API (/admin/…); unset: the admin API answers 404. */
  adminApiKey: string | undefined;
  /**
   * Quotas of a tenant that sets none. maxNp and maxTimeoutSeconds default to MAX_NP and
   * MAX_TIMEOUT_SECONDS, which also bound what a tenant may be given.
   */
  defaultQuotas: TenantQuotas;
  /** Queued ranks of all tenants together past which POST /jobs answers 503 (a full backlog). */
  backlogMaxQueuedRanks: number;
  /**
   * Port of the Prometheus endpoint (`GET /metrics`), a listener of its own apart from `port`:
   * never behind the Ingress, no API key. 0: none. docs/metrics.md.
   */
  metricsPort: number;
  /** Webhooks (docs/outputs.md). */
  webhooks: {
    /** Deliver to private, loopback and link-local addresses too (a quick start on one machine). */
    allowPrivate: boolean;
    /** Tries per event; with `backoffMs` doubling each time, 9 × 5 s spans about 21 minutes. */
    attempts: number;
    backoffMs: number;
    /** How long one POST may take. */
    timeoutMs: number;
    /** How often status changes are looked for. */
    pollMs: number;
  };
  /** Where output files are read from (the workers write them): packages/storage. */
  storage: StorageConfig;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** BODY_LIMIT ('2mb', '512kb', '100000b'; units of 1024 as body-parser's) in bytes. */
export function bodyLimitBytes(limit: string): number {
  const match = /^(\d+)(b|kb|mb)$/i.exec(limit);
  if (!match) throw new ConfigError(`BODY_LIMIT: not a size: ${limit}`);
  return Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase()]!;
}

/** Injection token of the ApiConfig. */
export const API_CONFIG = Symbol('ApiConfig');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Validates the environment (all problems at once) and returns the typed config. An empty
 * variable counts as unset, so `PORT=` in a .env file means the default.
 */
export function loadConfig(env: NodeJS.ProcessEnv): ApiConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  const storage = storageConfigSchema.safeParse(present);
  if (!storage.success) {
    const problems = storage.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    maxNp: e.MAX_NP,
    defaultTimeoutSeconds: e.DEFAULT_TIMEOUT_SECONDS,
    maxTimeoutSeconds: e.MAX_TIMEOUT_SECONDS,
    bodyLimit: e.BODY_LIMIT,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    authMode: e.AUTH_MODE,
    adminApiKey: e.ADMIN_API_KEY,
    defaultQuotas: {
      maxQueuedJobs: e.TENANT_MAX_QUEUED_JOBS,
      maxRunningRanks: e.TENANT_MAX_RUNNING_RANKS,
      maxNp: e.MAX_NP,
      maxTimeoutSeconds: e.MAX_TIMEOUT_SECONDS,
      requestsPerMinute: e.TENANT_REQUESTS_PER_MINUTE,
    },
    backlogMaxQueuedRanks: e.BACKLOG_MAX_QUEUED_RANKS,
    metricsPort: e.METRICS_PORT,
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true',
      attempts: e.WEBHOOK_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      pollMs: e.WEBHOOK_POLL_MS,
    },
    storage: storage.data,
  };
}
