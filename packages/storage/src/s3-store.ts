import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { assertSafeKey, type ObjectStore, type StoredObject } from './object-store';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. `mpiaas/` ('' for none). */
  prefix?: string;
  /** Endpoint of an S3-compatible service (MinIO, s3rver); unset for AWS itself. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and s3rver need. */
  forcePathStyle?: boolean;
  /** Static credentials; unset: the SDK's default chain (env, web identity, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Create the bucket at start if missing (MinIO in compose); production buckets are made beforehand. */
  createBucket?: boolean;
}

/** Objects in an S3-compatible bucket through @aws-sdk/client-s3. */
export class S3Store implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly options: S3StoreOptions) {
    this.prefix = options.prefix ?? '';
    this.description = `s3:${options.bucket}${this.prefix ? `/${this.prefix}` : ''}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
      // Checksums on every request are the SDK's default since 3.729; S3-compatible servers
      // that predate them (s3rver, older MinIO) want them only when the API requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private keyOf(key: string): string {
    assertSafeKey(key);
    return `${this.prefix}${key}`;
  }

  async prepare(): Promise<void> {
    if (!this.options.createBucket) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch {
      await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket })).catch((error: Error) => {
        if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test(error.name)) throw error;
      });
    }
  }

  async put(key: string, body: Readable, bytes: number): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key), Body: body, ContentLength: bytes }));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }));
      return { body: object.Body as Readable, bytes: Number(object.ContentLength ?? 0) };
    } catch (error) {
      if (error instanceof NoSuchKey || (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)) return undefined;
      throw error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    // DeleteObjects takes at most 1000 keys.
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000).map((key) => ({ Key: this.keyOf(key) }));
      const reply = await this.client.send(new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: batch, Quiet: true } }));
      const failed = reply.Errors?.filter((e) => e.Code !== 'NoSuchKey') ?? [];
      if (failed.length > 0) throw new Error(`s3: cannot delete ${failed.length} object(s): ${failed[0]?.Code} ${failed[0]?.Message}`);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
