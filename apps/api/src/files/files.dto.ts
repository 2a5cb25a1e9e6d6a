import { ApiProperty } from '@nestjs/swagger';
import type { JobFileList, JobFileView } from '@mpiaas/contracts';

export class JobFileDto implements JobFileView {
  @ApiProperty({ example: '0/plots/loss.png', description: "`<rank>/<path under that rank's MPIAAS_OUTPUT>`; `_mpiaas/…` for the service's markers." })
  path!: string;
  @ApiProperty() bytes!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'The rank that wrote it; null for a marker of dropped files.' })
  rank!: number | null;
}

export class JobFileListDto implements JobFileList {
  @ApiProperty({ type: [JobFileDto], description: 'Ordered by path.' }) items!: JobFileDto[];
}
