import { Controller, Headers, type MessageEvent, Param, Sse } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Observable } from 'rxjs';
import { type Caller, CurrentCaller } from '../auth/caller';
import { ErrorBodyDto } from '../common/error-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { JobsService } from '../jobs/jobs.service';
import { parseEventId } from './event-position';
import { JobEventsService } from './job-events.service';

@ApiTags('jobs')
@ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A malformed id, body or query: `message` lists each broken rule.' })
@Controller('jobs/:id/events')
export class JobEventsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly jobEvents: JobEventsService,
  ) {}

  @Sse()
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'last-event-id', required: false, description: 'Resume after this event id.' })
  @ApiOkResponse({
    description:
      '`event: status` (data {status, reason, exitCode}) and `event: log` (data LogItem) in the order stored, ' +
      'live; the stream ends after the final status (an EventSource should close() on it: resuming after it ' +
      'gives an empty stream).',
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async events(
    @Param('id', UuidParamPipe) id: string,
    @CurrentCaller() caller: Caller,
    @Headers('last-event-id') lastEventId?: string,
  ): Promise<Observable<MessageEvent>> {
    // Checked before the stream starts, so that these errors are plain JSON responses.
    const from = parseEventId(lastEventId);
    await this.jobs.require(id, caller.tenantId);
    return this.jobEvents.stream(id, from);
  }
}
