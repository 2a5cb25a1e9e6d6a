import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { JobStatus, WebhookDeliveryList } from '@mpiaas/contracts';
import { type Caller, CurrentCaller } from '../auth/caller';
import { ErrorBodyDto } from '../common/error-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { JobsService } from '../jobs/jobs.service';
import { WebhookRepository } from './webhook.repository';
import { WebhookDeliveryListDto } from './webhooks.dto';

@ApiTags('jobs')
@Controller('jobs/:id/webhooks')
export class WebhooksController {
  constructor(
    private readonly jobs: JobsService,
    private readonly repository: WebhookRepository,
  ) {}

  /** Every attempt to deliver the job's webhook, oldest first (empty for a job without one). */
  @Get()
  @ApiOkResponse({ type: WebhookDeliveryListDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async list(@Param('id', UuidParamPipe) id: string, @CurrentCaller() caller: Caller): Promise<WebhookDeliveryList> {
    await this.jobs.require(id, caller.tenantId);
    const rows = await this.repository.deliveriesOf(id);
    return {
      items: rows.map((row) => ({
        event: row.event as JobStatus,
        attempt: row.attempt,
        url: row.url,
        statusCode: row.statusCode,
        ok: row.ok,
        error: row.error,
        durationMs: row.durationMs,
        at: row.at.toISOString(),
      })),
    };
  }
}
