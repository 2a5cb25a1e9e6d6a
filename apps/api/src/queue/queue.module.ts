import { Module } from '@nestjs/common';
import { JobControlPublisher } from './job-control.publisher';
import { JobQueue } from './job-queue';

/** What the api sends to workers: runs to do (BullMQ) and control messages (pub/sub). */
@Module({ providers: [JobQueue, JobControlPublisher], exports: [JobQueue, JobControlPublisher] })
export class QueueModule {}
