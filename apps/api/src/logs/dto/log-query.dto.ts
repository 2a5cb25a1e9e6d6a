import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { JOB_LIMITS, type LogStreamName } from '@mpiaas/contracts';

export const LOG_STREAMS: readonly LogStreamName[] = ['stdout', 'stderr'];

export class LogQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Only this rank.' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  rank?: number;

  @ApiPropertyOptional({ enum: LOG_STREAMS, description: 'Only this stream.' })
  @IsOptional()
  @IsIn(LOG_STREAMS)
  stream?: LogStreamName;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page: items stored after it.', example: '0' })
  @IsOptional()
  // 18 digits at most: always within Postgres' bigint.
  @Matches(/^\d{1,18}$/, { message: 'cursor must be the nextCursor of a previous page' })
  cursor?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: JOB_LIMITS.maxLogPageSize, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(JOB_LIMITS.maxLogPageSize)
  limit: number = 100;
}
