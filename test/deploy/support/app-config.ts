// What the api and the worker read from their environment, from their own config loaders.
import { loadConfig } from '../../../apps/api/src/config/api-config';
import { loadWorkerConfig, WorkerConfigSchema } from '../../../apps/worker/src/config/worker-config';
import { storageConfigSchema } from '../../../packages/storage/src/store-config';

export type App = 'api' | 'worker';

/** `databaseUrl` → `DATABASE_URL`: the api's config object names each variable so. */
function envName(property: string): string {
  return property.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The object store's variables (packages/storage), which both apps read. */
export const STORAGE_KEYS: ReadonlySet<string> = new Set(Object.keys(storageConfigSchema.shape));

/**
 * The variables each app's config schema knows (the api's: every one has a default; its
 * `storage` object is read from the storage schema's own variables).
 */
export const CONFIG_KEYS: Record<App, ReadonlySet<string>> = {
  api: new Set([...Object.keys(loadConfig({})).map(envName), ...STORAGE_KEYS]),
  worker: new Set(Object.keys(WorkerConfigSchema.shape)),
};

/** Variables set for the runtime rather than the app's config (Dockerfile ENV). */
export const RUNTIME_VARIABLES: ReadonlySet<string> = new Set(['NODE_ENV', 'PYTHONDONTWRITEBYTECODE']);

/** Validates an environment with the app's own loader; returns its error message, if any. */
export function configError(app: App, env: Record<string, string>): string | undefined {
  try {
    if (app === 'api') loadConfig(env);
    else loadWorkerConfig(env);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Stand-ins for values that only exist in a cluster (Secrets, the pod's name). */
export const PLACEHOLDERS: Record<string, string> = {
  DATABASE_URL: 'postgresql://mpiaas:secret@postgres:5432/mpiaas',
  REDIS_URL: 'redis://:secret@redis:6379',
  ADMIN_API_KEY: 'f00d'.repeat(12),
  S3_ACCESS_KEY_ID: 'mpiaas',
  S3_SECRET_ACCESS_KEY: 'beef'.repeat(8),
  WORKER_ID: 'worker-5d9c7-abcde',
};
