import { ApiProperty } from '@nestjs/swagger';
import { QUOTA_NAMES, type QuotaExceededBody } from '@mpiaas/contracts';
import { ErrorBodyDto } from '../common/error-body.dto';

export class QuotaExceededBodyDto extends ErrorBodyDto implements QuotaExceededBody {
  @ApiProperty({ example: 'quota maxQueuedJobs exceeded: 1000 jobs queued, limit 1000; submit again once some have started' })
  declare message: string;
  @ApiProperty({ enum: [...QUOTA_NAMES, 'backlogMaxQueuedRanks'], description: 'The quota exceeded.' })
  quota!: QuotaExceededBody['quota'];
  @ApiProperty({ example: 1000 }) limit!: number;
  @ApiProperty({ example: 1000, description: "The use now, in the quota's unit (jobs, ranks, seconds, requests this minute)." })
  used!: number;
}
