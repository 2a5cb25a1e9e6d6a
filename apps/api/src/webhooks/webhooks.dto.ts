import { ApiProperty } from '@nestjs/swagger';
import { JOB_STATUSES, type JobStatus, type WebhookDeliveryList, type WebhookDeliveryView } from '@mpiaas/contracts';

export class WebhookDeliveryDto implements WebhookDeliveryView {
  @ApiProperty({ enum: JOB_STATUSES, description: 'The status the delivery reports.' }) event!: JobStatus;
  @ApiProperty({ description: '1 for the first try of this event.' }) attempt!: number;
  @ApiProperty() url!: string;
  @ApiProperty({ type: Number, nullable: true, description: "The receiver's HTTP status; null when none came." }) statusCode!: number | null;
  @ApiProperty() ok!: boolean;
  @ApiProperty({ type: String, nullable: true, example: 'the receiver answered 503' }) error!: string | null;
  @ApiProperty() durationMs!: number;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class WebhookDeliveryListDto implements WebhookDeliveryList {
  @ApiProperty({ type: [WebhookDeliveryDto], description: 'Oldest first.' }) items!: WebhookDeliveryDto[];
}
