import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min, ValidateIf } from 'class-validator';
import type { TenantQuotas } from '@mpiaas/contracts';
import { MaxFromConfig } from '../../jobs/validation/configured-max.validator';

/** Largest value of a count quota: far above any cluster, small enough for an int column. */
const MAX_COUNT = 1_000_000_000;

/** The quotas in force, as views show them. */
export class QuotasDto implements TenantQuotas {
  @ApiProperty({ description: 'Jobs QUEUED at once; past it POST /jobs answers 429.' }) maxQueuedJobs!: number;
  @ApiProperty({ description: 'Ranks running at once; jobs past it wait in line.' }) maxRunningRanks!: number;
  @ApiProperty({ description: 'Largest np of a job (at most MAX_NP).' }) maxNp!: number;
  @ApiProperty({ description: 'Largest timeoutSeconds of a job (at most MAX_TIMEOUT_SECONDS).' }) maxTimeoutSeconds!: number;
  @ApiProperty({ description: 'Requests per minute per API key.' }) requestsPerMinute!: number;
}

const CHANGE = 'a positive integer sets it; null puts it back to the server default; absent leaves it';

/** Quotas to set: each optional; null means "the server's default". */
export class QuotaChangesDto {
  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, description: CHANGE })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsInt()
  @Min(1)
  @Max(MAX_COUNT)
  maxQueuedJobs?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, description: CHANGE })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsInt()
  @Min(1)
  @Max(MAX_COUNT)
  maxRunningRanks?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, description: `${CHANGE}; at most MAX_NP` })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsInt()
  @Min(1)
  @MaxFromConfig('maxNp')
  maxNp?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, description: `${CHANGE}; at most MAX_TIMEOUT_SECONDS` })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsInt()
  @Min(1)
  @MaxFromConfig('maxTimeoutSeconds')
  maxTimeoutSeconds?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, description: CHANGE })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsInt()
  @Min(1)
  @Max(MAX_COUNT)
  requestsPerMinute?: number | null;
}
