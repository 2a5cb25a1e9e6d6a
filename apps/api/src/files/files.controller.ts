import { Controller, Get, Inject, NotFoundException, Param, Res, StreamableFile } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PrismaClient } from '@mpiaas/db';
import type { JobFileList } from '@mpiaas/contracts';
import type { ObjectStore } from '@mpiaas/storage';
import { type Caller, CurrentCaller } from '../auth/caller';
import { ErrorBodyDto } from '../common/error-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { JobsService } from '../jobs/jobs.service';
import { JobFileListDto } from './files.dto';
import { OBJECT_STORE } from './object-store.provider';

/** `attachment; filename=…` that any client reads, whatever characters the name has. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

@ApiTags('jobs')
@Controller('jobs/:id/files')
export class FilesController {
  constructor(
    private readonly jobs: JobsService,
    @Inject(PrismaClient) private readonly db: PrismaClient,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  /** The output files the job's ranks left under MPIAAS_OUTPUT (docs/outputs.md). */
  @Get()
  @ApiOkResponse({ type: JobFileListDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async list(@Param('id', UuidParamPipe) id: string, @CurrentCaller() caller: Caller): Promise<JobFileList> {
    await this.jobs.require(id, caller.tenantId);
    const files = await this.db.jobFile.findMany({ where: { jobId: id }, orderBy: { path: 'asc' }, select: { path: true, bytes: true, rank: true } });
    return { items: files.map((file) => ({ path: file.path, bytes: Number(file.bytes), rank: file.rank })) };
  }

  /** One output file's bytes, streamed from the object store. */
  @Get('*')
  @ApiParam({ name: 'path', description: 'A path as GET /jobs/{id}/files lists it, e.g. `0/plots/loss.png`.' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The file.', schema: { type: 'string', format: 'binary' } })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No such job or file, or the file is past its retention.' })
  async download(
    @Param('id', UuidParamPipe) id: string,
    @Param('*') filePath: string,
    @CurrentCaller() caller: Caller,
    @Res({ passthrough: true }) response: FastifyReply,
  ): Promise<StreamableFile> {
    const job = await this.jobs.require(id, caller.tenantId);
    const file = await this.db.jobFile.findUnique({ where: { jobId_path: { jobId: id, path: filePath } } });
    if (!file) {
      const expired = job.filesExpiredAt ? ` (the job's files were deleted at ${job.filesExpiredAt.toISOString()}, past their retention)` : '';
      throw new NotFoundException(`job ${id} has no file ${filePath}${expired}`);
    }
    const object = await this.store.get(file.storageKey);
    if (!object) throw new NotFoundException(`job ${id}: file ${filePath} is not in the store (yet, or any more)`);
    response.header('x-content-type-options', 'nosniff');
    return new StreamableFile(object.body, {
      type: 'application/octet-stream',
      length: object.bytes,
      disposition: contentDisposition(filePath.split('/').at(-1) ?? 'file'),
    });
  }
}
