import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { DiagnosisController } from './diagnosis.controller';

/** GET /jobs/{id}/diagnosis. */
@Module({
  imports: [JobsModule],
  controllers: [DiagnosisController],
})
export class DiagnosisModule {}
