import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { ProfileController } from './profile.controller';

/** GET /jobs/{id}/profile. */
@Module({
  imports: [JobsModule],
  controllers: [ProfileController],
})
export class ProfileModule {}
