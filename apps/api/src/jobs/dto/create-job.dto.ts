import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  type CreateJobRequest,
  ENV_NAME_PATTERN,
  MPI4PY_RELEASE_ENV,
  JOB_LAUNCHERS,
  JOB_LIMITS,
  JOB_STATUSES,
  type JobLauncher,
  type JobStatus,
  LABEL_KEY_PATTERN,
  PLACEMENT_POLICIES,
  type PlacementPolicy,
  type WebhookRequest,
} from '@mpiaas/contracts';
import { MaxFromConfig } from '../validation/configured-max.validator';
import { MaxUtf8Bytes } from '../validation/max-utf8-bytes.validator';
import { IsEnvMap, IsLabelMap } from '../validation/string-map.validator';

const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** `webhook` of POST /jobs: docs/outputs.md. */
export class WebhookDto implements WebhookRequest {
  @ApiProperty({ example: 'https://example.com/hooks/mpiaas', description: 'http(s) URL; private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true.' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false, require_valid_protocol: true })
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ description: 'Key of X-Mpiaas-Signature: sha256=<hex HMAC-SHA256(secret, body)>.', maxLength: 256 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  secret?: string;

  @ApiPropertyOptional({ enum: JOB_STATUSES, isArray: true, description: 'Statuses that trigger a delivery; default the final ones.', example: ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(JOB_STATUSES.length)
  @IsIn(JOB_STATUSES, { each: true })
  events?: JobStatus[];
}

/** Body of POST /jobs. Bounds set by the server's config (MAX_NP, ...) are checked too. */
export class CreateJobDto implements CreateJobRequest {
  @ApiProperty({
    description: `An unmodified mpi4py script (Python source); at most ${JOB_LIMITS.maxScriptBytes} bytes of UTF-8.`,
    example: 'from mpi4py import MPI\nprint(MPI.COMM_WORLD.Get_rank())\n',
  })
  @IsString()
  @IsNotEmpty()
  @MaxUtf8Bytes(JOB_LIMITS.maxScriptBytes)
  script!: string;

  @ApiProperty({ type: 'integer', description: 'Number of ranks, 1..MAX_NP (server config).', minimum: 1, example: 4 })
  @IsInt()
  @Min(1)
  @MaxFromConfig('maxNp')
  np!: number;

  @ApiPropertyOptional({
    description: `sys.argv[1:] of every rank; at most ${JOB_LIMITS.maxArgs}, each at most ${JOB_LIMITS.maxArgBytes} bytes.`,
    type: [String],
    maxItems: JOB_LIMITS.maxArgs,
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(JOB_LIMITS.maxArgs)
  @IsString({ each: true })
  @MaxUtf8Bytes(JOB_LIMITS.maxArgBytes, { each: true })
  args?: string[];

  @ApiPropertyOptional({
    ...STRING_MAP,
    description: `Extra environment of every rank; names match ${ENV_NAME_PATTERN.source}, runtime names are reserved. ${MPI4PY_RELEASE_ENV} chooses the mpi4py release the ranks answer as where 3.1.4 and 4.x differ: 3.1.4 by default (3, 3.1, 3.1.y), 4.1.2 for 4, 4.0, 4.1, 4.0.y or 4.1.y.`,
    example: { OMP_NUM_THREADS: '1' },
  })
  @IsOptional()
  @IsObject()
  @IsEnvMap()
  env?: Record<string, string>;

  @ApiPropertyOptional({ type: 'integer', description: 'Wall-clock limit, seconds; 1..MAX_TIMEOUT_SECONDS, default DEFAULT_TIMEOUT_SECONDS.', minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @MaxFromConfig('maxTimeoutSeconds')
  timeoutSeconds?: number;

  @ApiPropertyOptional({
    enum: PLACEMENT_POLICIES,
    default: 'pack',
    description: 'How ranks are placed over workers: `pack` on as few as possible, `spread` over as many as possible.',
  })
  @IsOptional()
  @IsIn(PLACEMENT_POLICIES)
  placement?: PlacementPolicy;

  @ApiPropertyOptional({
    default: false,
    description:
      'Run even when np exceeds the slots of every live worker together (several ranks per slot, as mpirun --oversubscribe); otherwise such a job waits for the cluster to grow.',
  })
  @IsOptional()
  @IsBoolean()
  oversubscribe?: boolean;

  @ApiPropertyOptional({
    enum: JOB_LAUNCHERS,
    default: 'script',
    description:
      'How each rank starts: `script` runs `python script.py args` on every rank; `futures` runs `python -m mpi4py.futures script.py args` (rank 0 runs the script, the other ranks serve its MPIPoolExecutor tasks).',
  })
  @IsOptional()
  @IsIn(JOB_LAUNCHERS)
  launcher?: JobLauncher;

  @ApiPropertyOptional({ maxLength: JOB_LIMITS.maxNameLength, example: 'pi estimate' })
  @IsOptional()
  @IsString()
  @MaxLength(JOB_LIMITS.maxNameLength)
  name?: string;

  @ApiPropertyOptional({
    ...STRING_MAP,
    description: `Keys match ${LABEL_KEY_PATTERN.source}; at most ${JOB_LIMITS.maxLabels} labels.`,
    example: { team: 'hpc' },
  })
  @IsOptional()
  @IsObject()
  @IsLabelMap()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ type: WebhookDto, description: 'POST the job view to a URL on its final status (and others if asked).' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => WebhookDto)
  webhook?: WebhookDto;
}
