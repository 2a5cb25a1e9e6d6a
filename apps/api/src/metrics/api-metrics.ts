import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaClient } from '@mpiaas/db';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { MetricsHttpServer } from '@mpiaas/service-kit';

/** How long one read of the cluster's state serves scrapes (several Prometheus replicas, one query). */
const CLUSTER_STATE_CACHE_MS = 1000;

interface ClusterState {
  waitingJobs: number;
  runningRanks: number;
}

/**
 * The api's Prometheus registry, served on a port of its own (METRICS_PORT). Counters count
 * what this replica did; the cluster gauges are read from Postgres at scrape time, so every
 * replica reports the same value (aggregate them with max, not sum). No label carries a job,
 * a tenant or anything a user wrote.
 */
@Injectable()
export class ApiMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  /** Per app, not prom-client's global one: a process may hold several apps (tests). */
  readonly registry = new Registry();
  private readonly server = new MetricsHttpServer(this.registry, this.logger);
  private cached: { at: number; state: Promise<ClusterState> } | undefined;
  private lastState: ClusterState = { waitingJobs: 0, runningRanks: 0 };

  private readonly submitted = new Counter({
    name: 'mpiaas_jobs_submitted_total',
    help: 'Jobs accepted by POST /jobs on this api replica (an Idempotency-Key replay is not counted again).',
    registers: [this.registry],
  });

  private readonly finished = new Counter({
    name: 'mpiaas_jobs_finished_total',
    help: 'Jobs that ended, by final status, counted by the process that ended them: on the api, jobs cancelled while QUEUED; the workers count the jobs they ran.',
    labelNames: ['status'],
    registers: [this.registry],
  });

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(PrismaClient) private readonly db: PrismaClient,
  ) {
    this.finished.inc({ status: 'CANCELLED' }, 0);
    const cluster = (): Promise<ClusterState> => this.clusterState();
    new Gauge({
      name: 'mpiaas_queue_waiting_jobs',
      help: 'Jobs QUEUED in the cluster (waiting for rank slots or a worker), read from Postgres at scrape time.',
      registers: [this.registry],
      async collect() {
        this.set((await cluster()).waitingJobs);
      },
    });
    new Gauge({
      name: 'mpiaas_running_ranks',
      help: 'Ranks of the RUNNING jobs in the cluster, read from Postgres at scrape time.',
      registers: [this.registry],
      async collect() {
        this.set((await cluster()).runningRanks);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** POST /jobs created a job. */
  jobSubmitted(): void {
    this.submitted.inc();
  }

  /** This replica ended a job itself (a QUEUED job cancelled). */
  jobFinished(status: string): void {
    this.finished.inc({ status });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.metricsPort > 0) await this.server.start(this.config.metricsPort);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server.stop();
  }

  /**
   * Waiting jobs and running ranks in one indexed query, shared by the scrapes of a second. If
   * Postgres does not answer, the last values are kept (and logged): a scrape still returns
   * the process metrics; /readyz tells the outage.
   */
  private async clusterState(): Promise<ClusterState> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > CLUSTER_STATE_CACHE_MS) {
      this.cached = { at: now, state: this.readClusterState() };
    }
    return this.cached.state;
  }

  private async readClusterState(): Promise<ClusterState> {
    try {
      const [row] = await this.db.$queryRaw<{ waiting: bigint; ranks: bigint | null }[]>`
        SELECT count(*) FILTER (WHERE status = 'QUEUED') AS waiting,
               sum(np) FILTER (WHERE status = 'RUNNING') AS ranks
        FROM jobs WHERE status IN ('QUEUED', 'RUNNING')`;
      this.lastState = { waitingJobs: Number(row?.waiting ?? 0), runningRanks: Number(row?.ranks ?? 0) };
    } catch (error) {
      this.cached = undefined;
      this.logger.warn(`metrics: cannot read the cluster's jobs, reporting the last values: ${(error as Error).message}`);
    }
    return this.lastState;
  }
}
