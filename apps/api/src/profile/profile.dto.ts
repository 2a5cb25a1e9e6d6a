import { ApiProperty } from '@nestjs/swagger';
import type { JobProfileView, MinAvgMaxView, ProfileOpView, ProfileRankView } from '@mpiaas/contracts';

class MinAvgMaxDto implements MinAvgMaxView {
  @ApiProperty({ example: 1.25 })
  min!: number;
  @ApiProperty({ example: 2.5 })
  avg!: number;
  @ApiProperty({ example: 4.75 })
  max!: number;
}

class ProfileOpDto implements ProfileOpView {
  @ApiProperty({ example: 'Bcast', description: 'The MPI call as the script made it (Bcast and bcast are two ops)' })
  op!: string;
  @ApiProperty({ description: 'Calls by all ranks together' })
  calls!: number;
  @ApiProperty({ description: 'Payload bytes all ranks sent in these calls' })
  bytes!: number;
  @ApiProperty({ type: MinAvgMaxDto, description: "Each rank's total time in the op, ms: min/avg/max over the ranks" })
  timeMs!: MinAvgMaxDto;
  @ApiProperty({ type: MinAvgMaxDto, description: 'The part of timeMs spent waiting for the last rank to arrive (imbalance), ms' })
  waitMs!: MinAvgMaxDto;
}

class ProfileRankDto implements ProfileRankView {
  @ApiProperty()
  rank!: number;
  @ApiProperty({ description: 'From MPI initialisation (import of mpi4py.MPI) to Finalize, ms' })
  wallMs!: number;
  @ApiProperty({ description: 'Time in MPI calls, ms (≤ wallMs)' })
  mpiMs!: number;
}

export class JobProfileDto implements JobProfileView {
  @ApiProperty({ type: [ProfileOpDto], description: 'Most time first' })
  ops!: ProfileOpDto[];
  @ApiProperty({ type: [ProfileRankDto] })
  ranks!: ProfileRankDto[];
}
