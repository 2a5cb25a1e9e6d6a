import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { GangScheduler } from './gang-scheduler';

/**
 * Keeps this worker's slots advertised while it lives. A worker that dies or is cut off
 * stops renewing them and loses them within WORKER_TIMEOUT_MS; one shutting down takes them
 * off at once, so no new job is placed on it.
 */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerHeartbeat.name);
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly scheduler: GangScheduler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.scheduler.heartbeat(this.config.SLOTS);
    this.timer = setInterval(() => void this.beat(), this.config.HEARTBEAT_INTERVAL_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.scheduler.deregister().catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      await this.scheduler.heartbeat(this.config.SLOTS);
      if (this.failing) this.logger.log('heartbeat restored');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(`heartbeat failed: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
