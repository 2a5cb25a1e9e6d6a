import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MpiJobName, QueueName, controlChannel, type RunJobPayload } from '@mpiaas/contracts';
import { createPrismaClient, JobStatus, migrate, type Job, type PrismaClient } from '@mpiaas/db';
import { dropDatabase, uniqueDatabaseUrl } from '../../packages/db/src/testing/test-database';
import { REDIS_URL } from './mpiaas-exec';

const FINAL: readonly JobStatus[] = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.CANCELLED];

/**
 * A private slice of the real infrastructure for one test file: its own Postgres database
 * (migrated), its own BullMQ prefix and rank-traffic key prefix on the shared Redis.
 */
export class ServiceHarness {
  readonly id = randomBytes(4).toString('hex');
  readonly databaseUrl = uniqueDatabaseUrl('mpiaas_service_test');
  readonly queuePrefix = `test-svc-${this.id}`;
  readonly rankPrefix = `test:svc:${this.id}:`;
  readonly prisma: PrismaClient;
  readonly queue: Queue<RunJobPayload>;

  private constructor() {
    this.prisma = createPrismaClient(this.databaseUrl, { pool: { max: 4 } });
    this.queue = new Queue<RunJobPayload>(QueueName.MpiJobs, { connection: { url: REDIS_URL }, prefix: this.queuePrefix });
  }

  static async start(): Promise<ServiceHarness> {
    const harness = new ServiceHarness();
    await migrate(harness.databaseUrl);
    return harness;
  }

  /** Environment for a worker or api process of this harness. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_URL: this.databaseUrl,
      REDIS_URL,
      QUEUE_PREFIX: this.queuePrefix,
      MPIAAS_REDIS_PREFIX: this.rankPrefix,
      LOG_LEVEL: 'warn',
      // A system interpreter: a root worker runs ranks as nobody, who cannot enter /root.
      MPIAAS_PYTHON: process.env.MPIAAS_PYTHON ?? '/usr/bin/python3',
      ...extra,
    };
  }

  /** Records a job and queues it, as the api does. */
  async submit(script: string, np: number, data: Partial<Pick<Job, 'timeoutSeconds' | 'args'>> & { env?: Record<string, string> } = {}): Promise<string> {
    const job = await this.prisma.job.create({
      data: {
        script,
        np,
        timeoutSeconds: data.timeoutSeconds ?? 60,
        args: data.args ?? [],
        env: data.env ?? {},
        transitions: { create: [{ status: JobStatus.QUEUED }] },
      },
    });
    await this.queue.add(MpiJobName.Run, { jobId: job.id }, { jobId: job.id, attempts: 2, backoff: { type: 'fixed', delay: 200 } });
    return job.id;
  }

  async waitForStatus(jobId: string, wanted: readonly JobStatus[] = FINAL, timeoutMs = 30_000): Promise<Job> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
      if (wanted.includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stdout(jobId: string, rank?: number): Promise<string> {
    const chunks = await this.prisma.logChunk.findMany({
      where: { jobId, stream: 'STDOUT', ...(rank === undefined ? {} : { rank }) },
      orderBy: { id: 'asc' },
    });
    return chunks.map((c) => c.text).join('');
  }

  async cancel(jobId: string): Promise<void> {
    await this.prisma.job.update({ where: { id: jobId }, data: { cancelRequested: true } });
    const redis = new Redis(REDIS_URL);
    await redis.publish(controlChannel(this.queuePrefix), JSON.stringify({ type: 'cancel', jobId }));
    redis.disconnect();
  }

  async stop(): Promise<void> {
    await this.queue.obliterate({ force: true }).catch(() => undefined);
    await this.queue.close();
    await this.prisma.$disconnect();
    await dropDatabase(this.databaseUrl);
  }
}
