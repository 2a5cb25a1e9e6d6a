import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { JobProfileView } from '@mpiaas/contracts';
import { type Caller, CurrentCaller } from '../auth/caller';
import { ErrorBodyDto } from '../common/error-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { JobsService } from '../jobs/jobs.service';
import { JobProfileDto } from './profile.dto';

@ApiTags('jobs')
@Controller('jobs/:id/profile')
export class ProfileController {
  constructor(private readonly jobs: JobsService) {}

  /** Per MPI operation (as the script called it) and per rank: calls, bytes, time in MPI and the part spent waiting for the last rank. */
  @Get()
  @ApiOkResponse({ type: JobProfileDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such job, or no profile (not finished, or no rank reached MPI_Finalize).' })
  async get(@Param('id', UuidParamPipe) id: string, @CurrentCaller() caller: Caller): Promise<JobProfileView> {
    const job = await this.jobs.require(id, caller.tenantId);
    if (!job.profile) {
      throw new NotFoundException(`job ${id} has no profile: it has not finished, or none of its ranks reached MPI_Finalize`);
    }
    return job.profile as unknown as JobProfileView;
  }
}
