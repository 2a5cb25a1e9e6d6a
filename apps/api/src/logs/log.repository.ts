import { Inject, Injectable } from '@nestjs/common';
import { type LogChunk, LogStream, PrismaClient } from '@mpiaas/db';

export interface LogChunkQuery {
  jobId: string;
  /** Chunks with a greater id only. */
  afterId: bigint;
  rank?: number;
  stream?: LogStream;
  take: number;
}

/** LogChunk rows, which workers write and the api only reads. */
@Injectable()
export class LogRepository {
  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  /** In storage order (id): the order of a job's combined output. */
  async after(query: LogChunkQuery): Promise<LogChunk[]> {
    return this.db.logChunk.findMany({
      where: { jobId: query.jobId, id: { gt: query.afterId }, rank: query.rank, stream: query.stream },
      orderBy: { id: 'asc' },
      take: query.take,
    });
  }

  /** One rank's stream in seq order, from `fromSeq`. */
  async streamFrom(jobId: string, rank: number, stream: LogStream, fromSeq: number, take: number): Promise<LogChunk[]> {
    return this.db.logChunk.findMany({
      where: { jobId, rank, stream, seq: { gte: fromSeq } },
      orderBy: { seq: 'asc' },
      take,
    });
  }
}
