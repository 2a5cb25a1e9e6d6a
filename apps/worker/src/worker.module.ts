import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bullmq';
import { QueueName } from '@mpiaas/contracts';
import { PgPoolShutdown } from '@mpiaas/service-kit';
import { pgPoolProvider } from './common/pg-pool';
import { PrismaShutdown, prismaProvider } from './common/prisma.provider';
import { RedisPolicyCheck } from './common/redis-policy.check';
import { WORKER_CONFIG, type WorkerConfig } from './config/worker-config';
import { ControlListener } from './control/control-listener';
import { RunJobProcessor } from './queue/run-job.processor';
import { Reconciler } from './reconcile/reconciler.service';
import { QueueEntries } from './reconcile/queue-entries';
import { ReconcileLock } from './reconcile/reconcile-lock';
import { ReconcileRepository } from './reconcile/reconcile.repository';
import { ActiveRuns } from './runs/active-runs';
import { JobExecutionRepository } from './runs/job-execution.repository';
import { GangScheduler } from './placement/gang-scheduler';
import { TenantRankQuota } from './placement/tenant-rank-quota';
import { SlotWaiters } from './placement/slot-waiters';
import { WaitingJobs } from './placement/waiting-jobs';
import { WorkerHeartbeat } from './placement/worker-heartbeat';
import { WorkerMetrics } from './metrics/worker-metrics';
import { JobRunner } from './runs/job-runner.service';
import { OrderListener } from './runs/order-listener';
import { ReportRouter } from './runs/report-router';
import { ShareRunner } from './runs/share-runner.service';
import { rankSandboxProvider } from './runs/rank-wrapper.provider';
import { rankLauncherProvider } from './runs/launcher/rank-launcher.provider';
import { rankZygoteProvider } from './runs/warm-pool/rank-zygote.provider';
import { FilesRetention } from './outputs/files-retention';
import { JobFilesRepository } from './outputs/job-files.repository';
import { JobOutputs } from './outputs/job-outputs';
import { ObjectStoreCheck, objectStoreProvider } from './outputs/object-store.provider';

/** The worker process: a BullMQ consumer with no HTTP server. */
@Module({})
export class WorkerModule {
  static forConfig(config: WorkerConfig) {
    const configProvider = { provide: WORKER_CONFIG, useValue: config };
    return {
      module: WorkerModule,
      imports: [
        BullModule.forRoot({ connection: { url: config.REDIS_URL }, prefix: config.QUEUE_PREFIX }),
        BullModule.registerQueue({ name: QueueName.MpiJobs }),
      ],
      providers: [
        configProvider,
        prismaProvider,
        PrismaShutdown,
        pgPoolProvider,
        PgPoolShutdown,
        RedisPolicyCheck,
        rankSandboxProvider,
        rankLauncherProvider,
        rankZygoteProvider,
        ActiveRuns,
        JobExecutionRepository,
        TenantRankQuota,
        GangScheduler,
        WaitingJobs,
        SlotWaiters,
        WorkerHeartbeat,
        ShareRunner,
        ReportRouter,
        OrderListener,
        JobRunner,
        RunJobProcessor.register(config),
        ControlListener,
        ReconcileRepository,
        QueueEntries,
        ReconcileLock,
        Reconciler,
        WorkerMetrics,
        objectStoreProvider,
        ObjectStoreCheck,
        JobFilesRepository,
        JobOutputs,
        FilesRetention,
      ],
      exports: [JobRunner, Reconciler, ActiveRuns, GangScheduler],
    };
  }
}
