import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { controlChannel, type ControlMessage } from '@mpiaas/contracts';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { SlotWaiters } from '../placement/slot-waiters';
import { ActiveRuns } from '../runs/active-runs';

/**
 * Listens for control messages: the api's cancels, so a running job stops at once, and other
 * workers' freed slots, so the jobs held here ask again at once. The database flag is the
 * source of truth of a cancel (JobRunner also polls it) and held jobs ask again on their own
 * timer, so a message missed while disconnected only delays them.
 */
@Injectable()
export class ControlListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ControlListener.name);
  private subscriber: Redis | undefined;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly active: ActiveRuns,
    private readonly held: SlotWaiters,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = new Redis(this.config.REDIS_URL, { maxRetriesPerRequest: null });
    this.subscriber.on('error', (error: Error) => this.logger.warn(`control channel: ${error.message}`));
    this.subscriber.on('message', (_channel: string, text: string) => this.onMessage(text));
    await this.subscriber.subscribe(controlChannel(this.config.QUEUE_PREFIX));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private onMessage(text: string): void {
    let message: ControlMessage;
    try {
      message = JSON.parse(text) as ControlMessage;
    } catch {
      return;
    }
    if (message.type === 'cancel' && this.active.stop(message.jobId, 'cancel')) {
      this.logger.log(`job ${message.jobId}: cancel requested`);
    }
    if (message.type === 'slots-freed' && message.from !== this.config.WORKER_ID) this.held.wake(message.slots);
  }
}
