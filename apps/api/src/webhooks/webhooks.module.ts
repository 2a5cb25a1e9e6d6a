import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookRepository } from './webhook.repository';
import { WebhooksController } from './webhooks.controller';

/** Webhook deliveries and GET /jobs/{id}/webhooks (docs/outputs.md). */
@Module({
  imports: [JobsModule],
  controllers: [WebhooksController],
  providers: [WebhookRepository, WebhookDispatcher],
})
export class WebhooksModule {}
