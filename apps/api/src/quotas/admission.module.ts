import { Module } from '@nestjs/common';
import { Admission } from './admission';
import { BacklogGauge } from './backlog-gauge';
import { QueuedJobsEstimate } from './queued-jobs-estimate';

/** Admission of jobs: tenants' quotas and the cluster's backlog (POST /jobs). */
@Module({
  providers: [Admission, BacklogGauge, QueuedJobsEstimate],
  exports: [Admission, QueuedJobsEstimate],
})
export class AdmissionModule {}
