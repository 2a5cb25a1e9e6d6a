import { Module } from '@nestjs/common';
import { JobControlPublisher } from './job-control.publisher';
import { JobQueue } from './job-queue';
import { SchedulerState } from './scheduler-state';

/**
 * What the api exchanges with workers: runs to do (BullMQ), control messages (pub/sub), and
 * the scheduler's state (why a job waits).
 */
@Module({
  providers: [JobQueue, JobControlPublisher, SchedulerState],
  exports: [JobQueue, JobControlPublisher, SchedulerState],
})
export class QueueModule {}
