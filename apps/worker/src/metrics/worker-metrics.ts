import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { FINAL_STATUSES } from '@mpiaas/contracts';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';
import { subscribeJobLifecycle, type JobLifecycleEvent } from './job-lifecycle';
import { MetricsHttpServer } from '@mpiaas/service-kit';

/** A job's reason starts so when the agents found its ranks deadlocked. */
export const DEADLOCK_REASON_PREFIX = 'deadlock:';

/** Seconds: from a 1-rank hello world to a day-long run (the largest time limit). */
const DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21_600, 86_400];
/** Seconds from submission to start: an idle cluster starts a job in well under a second. */
const WAIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Seconds a rank spends in one collective: a Redis round trip to a rank waiting on a slow peer. */
const COLLECTIVE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];

/**
 * The worker's Prometheus registry, served on METRICS_PORT by a bare node:http listener (the
 * worker has no Nest HTTP server). Counts the jobs this worker led, from the job runner's
 * lifecycle events. Labels are statuses and MPI operation names only: no job, tenant or script.
 */
@Injectable()
export class WorkerMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  readonly registry = new Registry();
  private readonly server = new MetricsHttpServer(this.registry, this.logger);
  private readonly unsubscribe: () => void;

  private readonly finished = new Counter({
    name: 'mpiaas_jobs_finished_total',
    help: 'Jobs that ended, by final status, counted by the process that ended them: on a worker, the jobs it led (and those the queue gave up on); the api counts jobs cancelled while QUEUED.',
    labelNames: ['status'],
    registers: [this.registry],
  });

  private readonly deadlocks = new Counter({
    name: 'mpiaas_deadlocks_total',
    help: `Jobs this worker led that ended because their ranks deadlocked (reason starting "${DEADLOCK_REASON_PREFIX}").`,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'mpiaas_job_duration_seconds',
    help: 'Run time of the jobs this worker led, from start to final status, by final status.',
    labelNames: ['status'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  private readonly wait = new Histogram({
    name: 'mpiaas_job_wait_seconds',
    help: 'Time from submission to start of the jobs this worker started (first attempt only).',
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });

  private readonly collective = new Histogram({
    name: 'mpiaas_collective_seconds',
    help: 'Time a rank hosted here spent in one collective, by operation as the script called it.',
    labelNames: ['op'],
    buckets: COLLECTIVE_BUCKETS,
    registers: [this.registry],
  });

  constructor(@Inject(WORKER_CONFIG) private readonly config: WorkerConfig) {
    for (const status of FINAL_STATUSES) {
      this.finished.inc({ status }, 0);
      this.duration.zero({ status });
    }
    collectDefaultMetrics({ register: this.registry });
    this.unsubscribe = subscribeJobLifecycle((event) => {
      if (event.workerId === this.config.WORKER_ID) this.record(event);
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.METRICS_PORT > 0) await this.server.start(this.config.METRICS_PORT);
  }

  async onApplicationShutdown(): Promise<void> {
    this.unsubscribe();
    await this.server.stop();
  }

  private record(event: JobLifecycleEvent): void {
    switch (event.kind) {
      case 'started':
        this.wait.observe(seconds(event.createdAt, event.startedAt));
        return;
      case 'finished':
        this.finished.inc({ status: event.status });
        if (event.startedAt) this.duration.observe({ status: event.status }, seconds(event.startedAt, event.finishedAt));
        if (event.reason?.startsWith(DEADLOCK_REASON_PREFIX)) this.deadlocks.inc();
        return;
      case 'collective':
        this.collective.observe({ op: event.op }, event.seconds);
        return;
    }
  }
}

const seconds = (from: Date, to: Date): number => Math.max(0, (to.getTime() - from.getTime()) / 1000);
