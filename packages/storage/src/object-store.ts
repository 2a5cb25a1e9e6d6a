import type { Readable } from 'node:stream';

/** An object read back from the store. */
export interface StoredObject {
  body: Readable;
  bytes: number;
}

/**
 * Where jobs' output files are kept. Keys are `/`-separated, relative, without `..` (the
 * worker builds them from checked paths); each driver maps them onto its own namespace.
 */
export interface ObjectStore {
  /** A short name for logs: `local:/var/lib/mpiaas/files`, `s3:bucket`. */
  readonly description: string;
  /** Stores `bytes` bytes read from `body` under `key` (replacing any object there). */
  put(key: string, body: Readable, bytes: number): Promise<void>;
  /** The object, or undefined if there is none. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Deletes the objects; keys that do not exist are no error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Creates what the store needs (a local directory, an S3 bucket if allowed); idempotent. */
  prepare(): Promise<void>;
}

/** Whether a key is safe to hand any driver: relative, `/`-separated, no empty, `.` or `..` part. */
export function isSafeKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024 || key.startsWith('/') || key.includes('\\') || key.includes('\0')) return false;
  return key.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

export function assertSafeKey(key: string): void {
  if (!isSafeKey(key)) throw new Error(`unsafe object key ${JSON.stringify(key)}`);
}
