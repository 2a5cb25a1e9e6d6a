import { ApiProperty } from '@nestjs/swagger';
import type { UsageView } from '@mpiaas/contracts';
import { QuotasDto } from '../tenants/dto/quotas.dto';

class CountsDto {
  @ApiProperty() jobs!: number;
  @ApiProperty({ description: 'Sum of the jobs’ np.' }) ranks!: number;
}

class RankSecondsDto {
  @ApiProperty({ description: 'Since 00:00 UTC today.' }) day!: number;
  @ApiProperty({ description: 'Since the 1st of this month, UTC.' }) month!: number;
}

export class UsageViewDto implements UsageView {
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty({ type: CountsDto }) queued!: CountsDto;
  @ApiProperty({ type: CountsDto }) running!: CountsDto;
  @ApiProperty({ type: RankSecondsDto, description: 'np × seconds run by the tenant’s jobs.' }) rankSeconds!: RankSecondsDto;
  @ApiProperty({ type: QuotasDto, description: 'The quotas in force.' }) quotas!: QuotasDto;
}
