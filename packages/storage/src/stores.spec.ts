// Both drivers through the same checks; the S3 one against s3rver (a fake S3 server from
// npm) as its endpoint, as MinIO or a managed bucket would be in a deployment.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectStore, isSafeKey, LocalDiskStore, type ObjectStore, S3Store, storageConfigSchema } from './index';

// s3rver ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: object) => { run(): Promise<AddressInfo>; close(): Promise<void> };

let dir: string;
let server: { run(): Promise<AddressInfo>; close(): Promise<void> };
let endpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-storage-test-'));
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: path.join(dir, 's3rver') });
  const address = await server.run();
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const body = (content: string | Buffer) => Readable.from([Buffer.from(content)]);

function behavesAsAStore(name: string, make: () => ObjectStore) {
  describe(name, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = make();
      await store.prepare();
      await store.prepare(); // idempotent
    });

    it('puts, gets (bytes and length) and deletes objects under nested keys', async () => {
      await store.put('jobs/j1/1/0/sub/a.txt', body('hello'), 5);
      await store.put('jobs/j1/1/1/b.bin', body(Buffer.alloc(70_000, 7)), 70_000);
      await store.put('jobs/j1/1/2/empty', Readable.from([]), 0);
      const a = await store.get('jobs/j1/1/0/sub/a.txt');
      expect(a?.bytes).toBe(5);
      expect(await text(a!.body)).toBe('hello');
      const b = await store.get('jobs/j1/1/1/b.bin');
      expect(b?.bytes).toBe(70_000);
      expect((await text(b!.body)).length).toBe(70_000);
      expect((await store.get('jobs/j1/1/2/empty'))?.bytes).toBe(0);
      expect(await store.get('jobs/j1/1/none')).toBeUndefined();
      await store.delete(['jobs/j1/1/0/sub/a.txt', 'jobs/j1/1/1/b.bin', 'jobs/j1/1/2/empty', 'jobs/j1/1/never-there']);
      expect(await store.get('jobs/j1/1/0/sub/a.txt')).toBeUndefined();
    });

    it('replaces an object put twice', async () => {
      await store.put('k/x', body('one'), 3);
      await store.put('k/x', body('second'), 6);
      expect(await text((await store.get('k/x'))!.body)).toBe('second');
    });

    it('refuses keys that could leave its namespace', async () => {
      for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', '', 'a\\b']) {
        expect(isSafeKey(key), key).toBe(false);
        await expect(store.put(key, body('x'), 1), key).rejects.toThrow(/unsafe object key/);
      }
    });
  });
}

behavesAsAStore('LocalDiskStore', () => new LocalDiskStore(path.join(dir, 'local')));
behavesAsAStore('S3Store (s3rver)', () =>
  createObjectStore(
    storageConfigSchema.parse({
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: 'mpiaas-test',
      S3_PREFIX: 'files/',
      S3_FORCE_PATH_STYLE: 'true',
      S3_CREATE_BUCKET: 'true',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
    }),
  ),
);

describe('LocalDiskStore', () => {
  it('leaves no partial file and no empty folder behind', async () => {
    const root = path.join(dir, 'tidy');
    const store = new LocalDiskStore(root);
    await store.prepare();
    await expect(store.put('a/b/c.txt', body('short'), 10)).rejects.toThrow(/read 5 bytes, expected 10/);
    expect(await readdir(path.join(root, 'a', 'b'))).toEqual([]);
    await store.put('a/b/c.txt', body('12345'), 5);
    await store.delete(['a/b/c.txt']);
    expect(await readdir(root)).toEqual([]);
  });
});

describe('createObjectStore', () => {
  it('needs a bucket for s3, and names the store', () => {
    expect(() => createObjectStore(storageConfigSchema.parse({ STORAGE_DRIVER: 's3' }))).toThrow(/S3_BUCKET/);
    const s3 = createObjectStore(storageConfigSchema.parse({ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_ENDPOINT: 'http://minio:9000' }));
    expect(s3).toBeInstanceOf(S3Store);
    expect(s3.description).toBe('s3:b at http://minio:9000');
    expect(createObjectStore(storageConfigSchema.parse({})).description).toMatch(/^local:.*mpiaas-files$/);
  });
});
