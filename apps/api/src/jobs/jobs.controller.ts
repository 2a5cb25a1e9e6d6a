import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Res, UseInterceptors } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { IDEMPOTENCY_HEADER, type JobPage, type JobView } from '@mpiaas/contracts';
import { type Caller, CurrentCaller } from '../auth/caller';
import { CorrelationId } from '../common/correlation-id.decorator';
import { ErrorBodyDto } from '../common/error-body.dto';
import { QuotaExceededBodyDto } from '../quotas/quota-exceeded-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { CancelledJobsInterceptor } from '../metrics/cancelled-jobs.interceptor';
import { CreateJobDto } from './dto/create-job.dto';
import { JobPageDto } from './dto/job-page.dto';
import { JobViewDto } from './dto/job-view.dto';
import { ListJobsQueryDto } from './dto/list-jobs-query.dto';
import { IdempotencyKey } from './idempotency-key.decorator';
import { JobCancellationService } from './job-cancellation.service';
import { JobSubmissionService } from './job-submission.service';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A malformed id, body or query: `message` lists each broken rule.' })
@Controller('jobs')
export class JobsController {
  constructor(
    private readonly submission: JobSubmissionService,
    private readonly jobs: JobsService,
    private readonly cancellation: JobCancellationService,
  ) {}

  @Post()
  @ApiHeader({ name: IDEMPOTENCY_HEADER, required: false, description: 'Replaying a key with the same body returns the same job.' })
  @ApiCreatedResponse({ type: JobViewDto, description: 'Queued; `Location` names the job.' })
  @ApiOkResponse({ type: JobViewDto, description: 'Idempotency-Key replay: the job created by the first request.' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'Idempotency-Key used with a different body.' })
  @ApiTooManyRequestsResponse({
    type: QuotaExceededBodyDto,
    description: 'Over a quota of the tenant (maxQueuedJobs, maxNp, maxTimeoutSeconds, maxRunningRanks, requestsPerMinute); `Retry-After` says when to try again.',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description: "The service's backlog of queued ranks is full (`Retry-After`), or the job was stored but not queued (it is FAILED).",
  })
  async create(
    @Body() body: CreateJobDto,
    @CurrentCaller() caller: Caller,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @CorrelationId() correlationId: string,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<JobView> {
    const { job, created } = await this.submission.submit(body, caller, correlationId, idempotencyKey);
    res.status(created ? HttpStatus.CREATED : HttpStatus.OK).header('location', `/jobs/${job.id}`);
    return job;
  }

  @Get()
  @ApiOkResponse({ type: JobPageDto })
  async list(@Query() query: ListJobsQueryDto, @CurrentCaller() caller: Caller): Promise<JobPage> {
    return this.jobs.list(query, caller.tenantId);
  }

  @Get(':id')
  @ApiOkResponse({ type: JobViewDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', UuidParamPipe) id: string, @CurrentCaller() caller: Caller): Promise<JobView> {
    return this.jobs.get(id, caller.tenantId);
  }

  @Post(':id/cancel')
  @UseInterceptors(CancelledJobsInterceptor)
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: JobViewDto, description: 'Queued: now CANCELLED. Running: its worker was asked to stop it.' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The job has already ended.' })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async cancel(@Param('id', UuidParamPipe) id: string, @CurrentCaller() caller: Caller, @CorrelationId() correlationId: string): Promise<JobView> {
    return this.cancellation.cancel(id, caller.tenantId, correlationId);
  }
}
