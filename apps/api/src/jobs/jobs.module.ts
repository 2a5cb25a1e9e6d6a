import { Module } from '@nestjs/common';
import { AdmissionModule } from '../quotas/admission.module';
import { QueueModule } from '../queue/queue.module';
import { JobCancellationService } from './job-cancellation.service';
import { JobRepository } from './job.repository';
import { JobSubmissionService } from './job-submission.service';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { SubmissionBatcher } from './submission-batcher';
import { ConfiguredMaxConstraint } from './validation/configured-max.validator';

@Module({
  imports: [QueueModule, AdmissionModule],
  controllers: [JobsController],
  providers: [JobRepository, JobsService, JobSubmissionService, SubmissionBatcher, JobCancellationService, ConfiguredMaxConstraint],
  exports: [JobRepository, JobsService],
})
export class JobsModule {}
