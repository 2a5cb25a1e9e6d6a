import { createObjectStore, type ObjectStore } from '@mpiaas/storage';
import { API_CONFIG, type ApiConfig } from '../config/api-config';

export const OBJECT_STORE = Symbol('OBJECT_STORE');

/** The store output files are read from (the workers write them): packages/storage. */
export const objectStoreProvider = {
  provide: OBJECT_STORE,
  inject: [API_CONFIG],
  useFactory: (config: ApiConfig): ObjectStore => createObjectStore(config.storage),
};
