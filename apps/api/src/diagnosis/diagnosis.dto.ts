import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { JobDiagnosisView, PendingOpView, RankDiagnosisView } from '@mpiaas/contracts';

class PendingOpDto implements PendingOpView {
  @ApiProperty({ example: 'recv', description: 'recv, probe, ssend, or the collective as called (Bcast, barrier…)' })
  op!: string;
  @ApiPropertyOptional({ oneOf: [{ type: 'integer' }, { type: 'string', enum: ['any'] }], description: 'World rank of the peer' })
  peer?: number | 'any';
  @ApiPropertyOptional({ oneOf: [{ type: 'integer' }, { type: 'string', enum: ['any'] }] })
  tag?: number | 'any';
  @ApiProperty({ example: 'w', description: "Communicator context ('w': COMM_WORLD)" })
  comm!: string;
  @ApiPropertyOptional()
  root?: number;
  @ApiPropertyOptional({ enum: [true] })
  collective?: true;
}

class RankDiagnosisDto implements RankDiagnosisView {
  @ApiProperty()
  rank!: number;
  @ApiProperty({ enum: ['blocked', 'finished', 'running'], description: 'blocked: in an MPI call; running: outside MPI (computing, sleeping, reading input)' })
  state!: 'blocked' | 'finished' | 'running';
  @ApiPropertyOptional({ type: [PendingOpDto] })
  pending?: PendingOpDto[];
  @ApiPropertyOptional({ type: String, nullable: true, example: 'pi.py:41' })
  where?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, example: 'Reduce' })
  call?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: "Every thread's Python stack" })
  stack?: string | null;
}

export class JobDiagnosisDto implements JobDiagnosisView {
  @ApiProperty({ enum: ['deadlock', 'mismatch', 'timeout', 'cancel'] })
  kind!: 'deadlock' | 'mismatch' | 'timeout' | 'cancel';
  @ApiProperty({ example: '3 ranks (0,1,3) at pi.py:41 in Reduce; rank 2 at pi.py:37 in recv' })
  summary!: string;
  @ApiProperty({ type: [RankDiagnosisDto] })
  ranks!: RankDiagnosisDto[];
}
