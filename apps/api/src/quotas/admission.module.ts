import { Module } from '@nestjs/common';
import { Admission } from './admission';
import { BacklogGauge } from './backlog-gauge';

/** Admission of jobs: tenants' quotas and the cluster's backlog (POST /jobs). */
@Module({
  providers: [Admission, BacklogGauge],
  exports: [Admission],
})
export class AdmissionModule {}
