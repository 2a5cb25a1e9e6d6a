import { ApiProperty } from '@nestjs/swagger';
import {
  JOB_LAUNCHERS,
  JOB_STATUSES,
  PLACEMENT_POLICIES,
  type JobLauncher,
  type JobStatus,
  type JobView,
  type PendingView,
  type PlacementPolicy,
  type RankView,
  type WebhookView,
} from '@mpiaas/contracts';

// Response shapes for the OpenAPI document; the api returns the contracts' plain objects.

export class RankViewDto implements RankView {
  @ApiProperty() rank!: number;
  @ApiProperty({ type: String, nullable: true, description: 'The worker the rank ran on.', example: 'worker-7f9c-1' })
  worker!: string | null;
  @ApiProperty({ type: Number, nullable: true }) exitCode!: number | null;
  @ApiProperty({ type: String, nullable: true, example: 'SIGKILL' }) signal!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty() stdoutBytes!: number;
  @ApiProperty() stderrBytes!: number;
  @ApiProperty({ description: 'Output past the per-rank cap was dropped.' }) truncated!: boolean;
}

export class PendingViewDto implements PendingView {
  @ApiProperty({ example: 'waiting for 6 free slots; 4 free now' }) reason!: string;
  @ApiProperty({ description: 'Slots the job needs (np; fewer when oversubscribing).' }) slotsNeeded!: number;
  @ApiProperty({ description: 'Free slots over all live workers.' }) slotsFree!: number;
}

export class WebhookViewDto implements WebhookView {
  @ApiProperty({ example: 'https://example.com/hooks/mpiaas' }) url!: string;
  @ApiProperty({ enum: JOB_STATUSES, isArray: true, description: 'Statuses that trigger a delivery.' }) events!: JobStatus[];
  @ApiProperty({ description: 'Deliveries carry X-Mpiaas-Signature (a secret was given).' }) signed!: boolean;
}

export class JobViewDto implements JobView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ type: String, nullable: true }) name!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Record<string, string>;
  @ApiProperty({ enum: JOB_STATUSES }) status!: JobStatus;
  @ApiProperty({ type: String, nullable: true, example: 'rank 2 exited with code 1' }) reason!: string | null;
  @ApiProperty() np!: number;
  @ApiProperty({ type: [String] }) args!: string[];
  @ApiProperty() timeoutSeconds!: number;
  @ApiProperty({ enum: PLACEMENT_POLICIES }) placement!: PlacementPolicy;
  @ApiProperty() oversubscribe!: boolean;
  @ApiProperty({ enum: JOB_LAUNCHERS, description: 'How each rank started: the script, or `python -m mpi4py.futures` with it.' })
  launcher!: JobLauncher;
  @ApiProperty({ type: PendingViewDto, nullable: true, description: 'While QUEUED: why the job has not started.' })
  pending!: PendingViewDto | null;
  @ApiProperty({ type: Number, nullable: true }) exitCode!: number | null;
  @ApiProperty({ type: Number, nullable: true }) failedRank!: number | null;
  @ApiProperty({ type: String, nullable: true, description: "Last lines of the failed rank's stderr (FAILED jobs)." })
  stderrTail!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2 ranks (0,1) at ring.py:3 in recv',
    description: 'Where the ranks stood if a deadlock, collective mismatch, timeout or cancel stopped the job; details at GET /jobs/{id}/diagnosis',
  })
  diagnosisSummary!: string | null;
  @ApiProperty({ nullable: true, description: 'The JSON rank 0 wrote to the file named by MPIAAS_RESULT (at most 1 MiB); null if none.', example: { pi: 3.14159 } })
  result!: unknown;
  @ApiProperty({ type: String, nullable: true, description: 'Why the result was not kept (invalid JSON, over 1 MiB); the job does not fail for it.', example: 'the result is not valid JSON: Unexpected token' })
  resultError!: string | null;
  @ApiProperty({ description: "Output files dropped over the job's limits (listed in `_mpiaas/dropped-<rank>.txt`)." })
  filesDropped!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: "When the job's output files were deleted (retention)." })
  filesExpiredAt!: string | null;
  @ApiProperty({ type: WebhookViewDto, nullable: true, description: 'The webhook (never its secret).' })
  webhook!: WebhookViewDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: [RankViewDto], description: 'Ordered by rank; empty until a worker starts the job.' })
  ranks!: RankViewDto[];
}
