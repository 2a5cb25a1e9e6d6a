import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Redis } from 'ioredis';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { GangScheduler } from '../placement/gang-scheduler';
import { JobExecutionRepository } from './job-execution.repository';
import { ReportRouter } from './report-router';
import { ShareRunner } from './share-runner.service';
import { orderRefusal, runIdOf, type ShareOrder, type ShareReport } from './share-order';

/** A report waits this long for its leader (which reads it within a second). */
const REPORT_TTL_MS = 3_600_000;

/**
 * This worker's mail from the others, read by one blocking loop: start orders from the
 * leaders of jobs placed partly here (it runs each share and reports back to the leader's
 * list), and reports of shares of jobs it leads (handed to their collectors). An order whose
 * rendezvous is over, or whose attempt is no longer the job's current one, is dropped: the
 * job moved on without it.
 */
@Injectable()
export class OrderListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(OrderListener.name);
  private readonly blocking: Redis;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly scheduler: GangScheduler,
    private readonly jobs: JobExecutionRepository,
    private readonly shares: ShareRunner,
    private readonly reports: ReportRouter,
  ) {
    this.blocking = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    this.blocking.on('error', () => undefined); // the loop reports what matters
  }

  async onApplicationBootstrap(): Promise<void> {
    // Mail left for an earlier process with this worker id is for runs long over.
    const { keys } = this.scheduler;
    await this.scheduler.connection.del(keys.orders(this.config.WORKER_ID), keys.reports(this.config.WORKER_ID));
    this.loop = this.listen();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.blocking.disconnect();
    await this.loop;
  }

  private async listen(): Promise<void> {
    const orders = this.scheduler.keys.orders(this.config.WORKER_ID);
    const reports = this.scheduler.keys.reports(this.config.WORKER_ID);
    while (!this.stopped) {
      let popped: [string, string[]] | null;
      try {
        popped = (await this.blocking.call('BLMPOP', 1, 2, reports, orders, 'LEFT', 'COUNT', 64)) as [string, string[]] | null;
      } catch (error) {
        if (this.stopped) return;
        this.logger.warn(`mail: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (!popped) continue;
      const [key, items] = popped;
      for (const item of items) {
        if (key === reports) this.reports.deliver(JSON.parse(item) as ShareReport);
        else void this.serve(JSON.parse(item) as ShareOrder);
      }
    }
  }

  private async serve(order: ShareOrder): Promise<void> {
    const { jobId, attempt } = order;
    try {
      if (Date.now() > order.deadline) {
        this.logger.warn(`job ${jobId}: order for attempt ${attempt} arrived after its rendezvous; dropped`);
        return;
      }
      const refusal = orderRefusal(order);
      if (refusal) throw new Error(refusal);
      const job = await this.jobs.forShare(jobId, attempt);
      if (!job) return;
      const { leader } = order;
      this.logger.log(`job ${jobId}: running ranks of agent ${order.agent} for leader ${leader}`);
      await this.shares.run(job, order, {
        watch: async () =>
          !(await this.scheduler.isLive(leader))
            ? { status: 'FAILED', exitCode: 1, reason: `worker lost: ${leader} (the job's leader)`, infrastructure: true }
            : undefined,
        deliver: (report) => this.report(leader, report),
      });
    } catch (error) {
      const message = (error as Error).message;
      this.logger.error(`job ${jobId}: share of agent ${order.agent} failed: ${message}`);
      const reason = `worker ${this.config.WORKER_ID} could not run its ranks: ${message}`;
      await this.report(order.leader, {
        runId: runIdOf(jobId, attempt),
        agent: order.agent,
        worker: this.config.WORKER_ID,
        verdict: { status: 'FAILED', exitCode: 1, reason, infrastructure: true, at: Date.now(), origin: 'local' },
        ranks: [],
      }).catch(() => undefined);
    }
  }

  private async report(leader: string, report: ShareReport): Promise<void> {
    const key = this.scheduler.keys.reports(leader);
    await this.scheduler.connection.multi().rpush(key, JSON.stringify(report)).pexpire(key, REPORT_TTL_MS).exec();
  }
}
