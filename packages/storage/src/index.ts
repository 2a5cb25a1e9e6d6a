export { assertSafeKey, isSafeKey, type ObjectStore, type StoredObject } from './object-store';
export { LocalDiskStore } from './local-disk-store';
export { S3Store, type S3StoreOptions } from './s3-store';
export { createObjectStore, storageConfigSchema, type StorageConfig } from './store-config';
