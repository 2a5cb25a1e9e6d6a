import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, type ObjectStore, type StoredObject } from './object-store';

/**
 * Objects as files under one directory: the quick start's store (one machine, or a volume
 * every api and worker mounts). Writes go to a temporary name and are renamed into place, so
 * a reader never sees half an object.
 */
export class LocalDiskStore implements ObjectStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.root = path.resolve(root);
    this.description = `local:${this.root}`;
  }

  async prepare(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  private fileOf(key: string): string {
    assertSafeKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Readable, bytes: number): Promise<void> {
    const file = this.fileOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.${Date.now()}.partial`;
    let written = 0;
    body.on('data', (chunk: Buffer) => (written += chunk.length));
    try {
      await pipeline(body, createWriteStream(partial, { mode: 0o640 }));
      if (written !== bytes) throw new Error(`${key}: read ${written} bytes, expected ${bytes}`);
      await rename(partial, file);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const file = this.fileOf(key);
    try {
      const stat = await lstat(file);
      if (!stat.isFile()) return undefined;
      return { body: createReadStream(file), bytes: stat.size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const file = this.fileOf(key);
      await unlink(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      // Empty folders up to the root go too (a job's folder once its last file is gone).
      for (let dir = path.dirname(file); dir.startsWith(this.root + path.sep); dir = path.dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
      }
    }
  }
}
