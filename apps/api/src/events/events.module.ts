import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { LogsModule } from '../logs/logs.module';
import { JobEventsController } from './job-events.controller';
import { JobEventsService } from './job-events.service';

@Module({ imports: [JobsModule, LogsModule], controllers: [JobEventsController], providers: [JobEventsService] })
export class EventsModule {}
