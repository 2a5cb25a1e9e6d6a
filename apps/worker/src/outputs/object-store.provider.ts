import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { createObjectStore, type ObjectStore } from '@mpiaas/storage';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

export const OBJECT_STORE = Symbol('OBJECT_STORE');

export const objectStoreProvider = {
  provide: OBJECT_STORE,
  inject: [WORKER_CONFIG],
  useFactory: (config: WorkerConfig): ObjectStore => createObjectStore(config),
};

/** Prepares the store at boot (its folder, or the bucket where asked); a failure is logged, not fatal. */
@Injectable()
export class ObjectStoreCheck implements OnModuleInit {
  private readonly logger = new Logger('ObjectStore');

  constructor(@Inject(OBJECT_STORE) private readonly store: ObjectStore) {}

  async onModuleInit(): Promise<void> {
    await this.store.prepare().then(
      () => this.logger.log(`output files go to ${this.store.description}`),
      (error: Error) => this.logger.error(`object store ${this.store.description} not ready: ${error.message}`),
    );
  }
}
