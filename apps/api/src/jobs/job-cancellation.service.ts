import { ConflictException, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { JobStatus } from '@mpiaas/db';
import { CANCELLED_BY_USER, type JobView } from '@mpiaas/contracts';
import { requestLine } from '../common/logger';
import { JobControlPublisher } from '../queue/job-control.publisher';
import { JobQueue } from '../queue/job-queue';
import { SchedulerState } from '../queue/scheduler-state';
import { JobRepository } from './job.repository';
import { JobsService } from './jobs.service';

/** How often to re-read a job whose status changed under a cancel (it only moves forward). */
const MAX_ATTEMPTS = 3;

/**
 * POST /jobs/{id}/cancel. A queued job is cancelled here; a running one is cancelled by its
 * worker, which this asks to do so (flag in Postgres + control message).
 */
@Injectable()
export class JobCancellationService {
  private readonly logger = new Logger(JobCancellationService.name);

  constructor(
    private readonly jobsService: JobsService,
    private readonly jobs: JobRepository,
    private readonly queue: JobQueue,
    private readonly control: JobControlPublisher,
    private readonly scheduler: SchedulerState,
  ) {}

  async cancel(id: string, tenantId: string, correlationId: string): Promise<JobView> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { status } = await this.jobsService.require(id, tenantId);
      // A false from the conditional update means a worker moved the job meanwhile: look again.
      switch (status) {
        case JobStatus.QUEUED:
          if (await this.jobs.finishIf(id, JobStatus.QUEUED, JobStatus.CANCELLED, CANCELLED_BY_USER)) {
            await this.removeFromQueue(id, correlationId);
            return this.jobsService.get(id, tenantId);
          }
          break;
        case JobStatus.RUNNING:
          if (await this.jobs.requestCancel(id)) {
            await this.notifyWorkers(id, correlationId);
            return this.jobsService.get(id, tenantId);
          }
          break;
        case JobStatus.SUCCEEDED:
        case JobStatus.FAILED:
        case JobStatus.TIMED_OUT:
        case JobStatus.CANCELLED:
          throw new ConflictException(`job ${id} is already ${status}`);
      }
    }
    throw new ConflictException(`job ${id} changed status while being cancelled; try again`);
  }

  /** The flag is stored; a retried cancel publishes again (the job is still RUNNING). */
  private async notifyWorkers(id: string, correlationId: string): Promise<void> {
    try {
      await this.control.publish({ type: 'cancel', jobId: id });
    } catch (error) {
      this.logger.error(requestLine(correlationId, `job ${id}: cancel requested but not published: ${String(error)}`));
      throw new ServiceUnavailableException(`job ${id}: cancel recorded but the workers could not be told; try again`);
    }
  }

  /**
   * Best effort: a worker that takes the job anyway finds it CANCELLED and skips it. Each
   * step is tried whatever became of the other: the scheduler's forget is what keeps a
   * worker holding the job from putting it back in line.
   */
  private async removeFromQueue(id: string, correlationId: string): Promise<void> {
    const [queued, scheduled] = await Promise.allSettled([this.queue.removeWaiting(id), this.scheduler.forget(id)]);
    for (const [where, step] of [['the queue', queued], ["the scheduler's line", scheduled]] as const) {
      if (step.status === 'rejected') {
        this.logger.warn(requestLine(correlationId, `job ${id} cancelled but not removed from ${where}: ${String(step.reason)}`));
      }
    }
  }
}
