import { ApiProperty } from '@nestjs/swagger';
import type { JobPage } from '@mpiaas/contracts';
import { JobViewDto } from './job-view.dto';

export class JobPageDto implements JobPage {
  @ApiProperty({ type: [JobViewDto], description: 'Newest first.' }) items!: JobViewDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next (older) page; null on the last page.' })
  nextCursor!: string | null;
}
