import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { GangScheduler } from './gang-scheduler';
import { WaitingJobs } from './waiting-jobs';

/**
 * Keeps this worker's slots advertised while it lives. A worker that dies or is cut off
 * stops renewing them and loses them within WORKER_TIMEOUT_MS. One shutting down offers no
 * slot from the start (no new job is placed on it) but keeps heartbeating while its running
 * jobs finish — the workers running ranks of jobs it leads would otherwise take it for
 * dead — and leaves the cluster when it exits.
 */
@Injectable()
export class WorkerHeartbeat implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHeartbeat.name);
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private slots: number;
  /** Ranks started by a rank launcher share its container: one job at a time there. */
  private readonly exclusive: boolean;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly scheduler: GangScheduler,
    private readonly waiting: WaitingJobs,
  ) {
    this.slots = config.SLOTS;
    this.exclusive = config.RANK_LAUNCHER_SOCKET !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.scheduler.heartbeat(this.slots, this.exclusive);
    this.timer = setInterval(() => void this.beat(), this.config.HEARTBEAT_INTERVAL_MS);
    // New slots in the cluster: the jobs at the head of the line need not wait for their next ask.
    void this.waiting.wake(this.slots + 1);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.slots = 0;
    await this.beat();
  }

  /** GangScheduler takes the worker off the cluster as it closes its connection. */
  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    try {
      const restored = await this.scheduler.heartbeat(this.slots, this.exclusive);
      if (restored > 0) this.logger.warn(`wrote again the slots of ${restored} running job(s) that Redis had lost`);
      if (this.failing) {
        this.logger.log('heartbeat restored');
        void this.waiting.wake(this.slots + 1); // its slots are back in the cluster
      }
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn(`heartbeat failed: ${(error as Error).message}`);
      this.failing = true;
    }
  }
}
