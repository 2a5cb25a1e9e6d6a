import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { JobDiagnosisView } from '@mpiaas/contracts';
import { type Caller, CurrentCaller } from '../auth/caller';
import { ErrorBodyDto } from '../common/error-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { JobsService } from '../jobs/jobs.service';
import { JobDiagnosisDto } from './diagnosis.dto';

@ApiTags('jobs')
@Controller('jobs/:id/diagnosis')
export class DiagnosisController {
  constructor(private readonly jobs: JobsService) {}

  /** Where every rank stood when a deadlock, collective mismatch, timeout or cancel stopped the job. */
  @Get()
  @ApiOkResponse({ type: JobDiagnosisDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such job, or it ended without being stopped mid-way (no diagnosis).' })
  async get(@Param('id', UuidParamPipe) id: string, @CurrentCaller() caller: Caller): Promise<JobDiagnosisView> {
    const job = await this.jobs.require(id, caller.tenantId);
    if (!job.diagnosis) throw new NotFoundException(`job ${id} has no diagnosis: it was not stopped by a deadlock, mismatch, timeout or cancel`);
    return job.diagnosis as unknown as JobDiagnosisView;
  }
}
