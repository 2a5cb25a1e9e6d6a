import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { LogRepository } from './log.repository';
import { LogsController } from './logs.controller';
import { LogsService } from './logs.service';

@Module({
  imports: [JobsModule],
  controllers: [LogsController],
  providers: [LogRepository, LogsService],
  exports: [LogRepository],
})
export class LogsModule {}
