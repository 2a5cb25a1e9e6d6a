import { Injectable, NotFoundException } from '@nestjs/common';
import type { LogPage, LogStreamName } from '@mpiaas/contracts';
import { JobRepository } from '../jobs/job.repository';
import { JobsService } from '../jobs/jobs.service';
import type { LogQueryDto } from './dto/log-query.dto';
import { toLogItem, toLogStream } from './log-chunk.mapper';
import { LogRepository } from './log.repository';

/** Chunks read per query when a whole stream is sent. */
const STREAM_BATCH = 500;

@Injectable()
export class LogsService {
  constructor(
    private readonly jobsService: JobsService,
    private readonly jobs: JobRepository,
    private readonly logs: LogRepository,
  ) {}

  async page(jobId: string, tenantId: string, query: LogQueryDto): Promise<LogPage> {
    await this.jobsService.require(jobId, tenantId);
    const cursor = query.cursor ?? '0';
    const chunks = await this.logs.after({
      jobId,
      afterId: BigInt(cursor),
      rank: query.rank,
      stream: query.stream === undefined ? undefined : toLogStream(query.stream),
      take: query.limit,
    });
    return { items: chunks.map(toLogItem), nextCursor: chunks.at(-1)?.id.toString() ?? cursor };
  }

  /**
   * The whole text of one rank's stream, read in batches so a large output is never held
   * in memory at once. Checks the job and rank before the first byte is sent.
   */
  async streamText(jobId: string, tenantId: string, rank: number, stream: LogStreamName): Promise<AsyncIterable<string>> {
    await this.jobsService.require(jobId, tenantId);
    if (!(await this.jobs.findRank(jobId, rank))) throw new NotFoundException(`job ${jobId} has no rank ${rank}`);
    return this.batches(jobId, rank, stream);
  }

  private async *batches(jobId: string, rank: number, stream: LogStreamName): AsyncIterable<string> {
    for (let seq = 0; ; ) {
      const chunks = await this.logs.streamFrom(jobId, rank, toLogStream(stream), seq, STREAM_BATCH);
      if (chunks.length > 0) yield chunks.map((chunk) => chunk.text).join('');
      if (chunks.length < STREAM_BATCH) return;
      seq = chunks.at(-1)!.seq + 1;
    }
  }
}
