import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ObjectStore } from '@mpiaas/storage';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { GangScheduler } from '../placement/gang-scheduler';
import { JobFilesRepository } from './job-files.repository';
import { OBJECT_STORE } from './object-store.provider';

/** Files deleted per batch of a pass. */
const BATCH = 500;

/**
 * Deletes output files past FILES_RETENTION_SECONDS: their objects, then their rows; their
 * jobs get filesExpiredAt. One worker's pass per FILES_CLEANUP_INTERVAL_MS cluster-wide (a
 * Redis lock that expires, never released); a pass that fails leaves the rest to the next.
 */
@Injectable()
export class FilesRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FilesRetention.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly files: JobFilesRepository,
    private readonly scheduler: GangScheduler,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.FILES_RETENTION_SECONDS === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.config.FILES_CLEANUP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    try {
      const key = `${this.config.QUEUE_PREFIX}:files-cleanup-lock`;
      const taken = await this.scheduler.connection.set(key, this.config.WORKER_ID, 'PX', this.config.FILES_CLEANUP_INTERVAL_MS, 'NX');
      if (taken !== 'OK') return;
      const deleted = await this.pass(new Date(Date.now() - this.config.FILES_RETENTION_SECONDS * 1000));
      if (deleted > 0) this.logger.log(`retention: deleted ${deleted} output file(s) older than ${this.config.FILES_RETENTION_SECONDS} s`);
    } catch (error) {
      this.logger.warn(`retention pass failed: ${(error as Error).message}`);
    }
  }

  /** Deletes every file stored before `before`; returns how many. */
  async pass(before: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = await this.files.expired(before, BATCH);
      if (batch.length === 0) return deleted;
      await this.store.delete(batch.map((file) => file.storageKey));
      await this.files.forget(batch);
      deleted += batch.length;
      if (batch.length < BATCH) return deleted;
    }
  }
}
