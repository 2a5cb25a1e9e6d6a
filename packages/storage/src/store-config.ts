import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { LocalDiskStore } from './local-disk-store';
import type { ObjectStore } from './object-store';
import { S3Store } from './s3-store';

const flag = z.enum(['true', 'false']).transform((value) => value === 'true');

/** The object store's settings, read by the api (downloads) and the worker (uploads, retention). */
export const storageConfigSchema = z.object({
  /** `local`: files under STORAGE_LOCAL_DIR (quick start, one machine); `s3`: an S3-compatible bucket. */
  STORAGE_DRIVER: z.enum(['local', 's3']).default('local'),
  /** The local driver's folder; the api and every worker must see the same one. */
  STORAGE_LOCAL_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'mpiaas-files')),
  S3_BUCKET: z.string().min(1).optional(),
  /** Endpoint of an S3-compatible service (MinIO: http://minio:9000); unset for AWS S3. */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  /** Prefix of every key in the bucket. */
  S3_PREFIX: z.string().default(''),
  /** Path-style addressing (MinIO, s3rver). */
  S3_FORCE_PATH_STYLE: flag.default(false),
  /** Static credentials; unset: the AWS SDK's default chain (IRSA, instance profile, AWS_* env). */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Create the bucket at start when missing (MinIO in compose/kind). */
  S3_CREATE_BUCKET: flag.default(false),
});

export type StorageConfig = z.infer<typeof storageConfigSchema>;

export function createObjectStore(config: StorageConfig): ObjectStore {
  if (config.STORAGE_DRIVER === 'local') return new LocalDiskStore(config.STORAGE_LOCAL_DIR);
  if (!config.S3_BUCKET) throw new Error('STORAGE_DRIVER=s3 needs S3_BUCKET');
  return new S3Store({
    bucket: config.S3_BUCKET,
    prefix: config.S3_PREFIX,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    createBucket: config.S3_CREATE_BUCKET,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    ...(config.S3_ACCESS_KEY_ID ? { accessKeyId: config.S3_ACCESS_KEY_ID } : {}),
    ...(config.S3_SECRET_ACCESS_KEY ? { secretAccessKey: config.S3_SECRET_ACCESS_KEY } : {}),
  });
}
