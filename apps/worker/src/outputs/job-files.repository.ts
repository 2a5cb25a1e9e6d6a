import { Inject, Injectable } from '@nestjs/common';
import { JobStatus, Prisma, type PrismaClient } from '@mpiaas/db';
import { PRISMA } from '../common/prisma.provider';

/** A file a share wants to keep. */
export interface FileCandidate {
  path: string;
  rank: number;
  bytes: number;
  storageKey: string;
}

export interface Reservation {
  /** False when the attempt is over (the job moved on): nothing was recorded. */
  current: boolean;
  accepted: FileCandidate[];
  /** Over the job's limits, with the limit each one ran into. */
  dropped: (FileCandidate & { why: string })[];
}

export interface JobFileLimits {
  maxBytes: number;
  maxFiles: number;
}

/** The worker's writes of output files and results (fenced by the attempt, like log lines). */
@Injectable()
export class JobFilesRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /**
   * Records as many of `candidates` as fit in what the job's limits leave, in order, and
   * counts the rest as dropped. The job row's lock orders the shares of a job's workers, so
   * the limits hold for the job as a whole.
   */
  async reserve(jobId: string, attempt: number, candidates: readonly FileCandidate[], limits: JobFileLimits): Promise<Reservation> {
    return this.prisma.$transaction(async (tx) => {
      const [job] = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM jobs WHERE id = ${jobId}::uuid AND attempts = ${attempt} AND status = 'RUNNING' FOR NO KEY UPDATE`;
      if (!job) return { current: false, accepted: [], dropped: [] };
      const [used] = await tx.$queryRaw<{ files: bigint; bytes: bigint | null }[]>`
        SELECT count(*) AS files, sum(bytes) AS bytes FROM job_files WHERE job_id = ${jobId}::uuid AND rank IS NOT NULL`;
      let files = Number(used?.files ?? 0);
      let bytes = Number(used?.bytes ?? 0);
      const accepted: FileCandidate[] = [];
      const dropped: (FileCandidate & { why: string })[] = [];
      for (const candidate of candidates) {
        if (files + 1 > limits.maxFiles) dropped.push({ ...candidate, why: `over the job's file-count limit of ${limits.maxFiles} (OUTPUT_MAX_FILES)` });
        else if (bytes + candidate.bytes > limits.maxBytes) {
          dropped.push({ ...candidate, why: `over the job's size limit of ${limits.maxBytes} bytes (OUTPUT_MAX_BYTES)` });
        } else {
          files += 1;
          bytes += candidate.bytes;
          accepted.push(candidate);
        }
      }
      if (accepted.length > 0) await this.insert(tx, jobId, accepted);
      if (dropped.length > 0) await tx.job.update({ where: { id: jobId }, data: { filesDropped: { increment: dropped.length } } });
      return { current: true, accepted, dropped };
    });
  }

  /** Records files outside the limits (the service's own markers). */
  async record(jobId: string, attempt: number, files: readonly { path: string; rank: number | null; bytes: number; storageKey: string }[]): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      const [job] = await tx.$queryRaw<{ id: string }[]>`
        SELECT id FROM jobs WHERE id = ${jobId}::uuid AND attempts = ${attempt} AND status = 'RUNNING' FOR NO KEY UPDATE`;
      if (job) await this.insert(tx, jobId, files);
    });
  }

  private async insert(tx: Prisma.TransactionClient, jobId: string, files: readonly { path: string; rank: number | null; bytes: number; storageKey: string }[]): Promise<void> {
    // A retried attempt stores its files again under the same paths.
    await tx.$executeRaw`
      INSERT INTO job_files (job_id, path, rank, bytes, storage_key)
      SELECT ${jobId}::uuid, path, rank, bytes, key
      FROM unnest(${files.map((f) => f.path)}::text[], ${files.map((f) => f.rank)}::int[], ${files.map((f) => BigInt(f.bytes))}::bigint[], ${files.map((f) => f.storageKey)}::text[]) AS t(path, rank, bytes, key)
      ON CONFLICT (job_id, path) DO UPDATE SET rank = EXCLUDED.rank, bytes = EXCLUDED.bytes, storage_key = EXCLUDED.storage_key, created_at = now()`;
  }

  /** Takes back a file whose upload failed; counts it as dropped. */
  async unrecord(jobId: string, path: string): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.jobFile.deleteMany({ where: { jobId, path } }),
      this.prisma.job.update({ where: { id: jobId }, data: { filesDropped: { increment: 1 } } }),
    ]);
  }

  /** Counts files that were not kept for reasons other than the limits (links, special files). */
  async countDropped(jobId: string, attempt: number, count: number): Promise<void> {
    await this.prisma.job.updateMany({ where: { id: jobId, attempts: attempt }, data: { filesDropped: { increment: count } } });
  }

  /** Stores rank 0's result (or why there is none), while `attempt` is the job's current one. */
  async setResult(jobId: string, attempt: number, result: { value: Prisma.InputJsonValue | typeof Prisma.JsonNull } | { error: string }): Promise<void> {
    await this.prisma.job.updateMany({
      where: { id: jobId, attempts: attempt, status: JobStatus.RUNNING },
      data: 'value' in result ? { result: result.value, resultError: null } : { result: Prisma.DbNull, resultError: result.error },
    });
  }

  /** Files stored before `before`, oldest first: what the retention pass deletes. */
  async expired(before: Date, take: number): Promise<{ jobId: string; path: string; storageKey: string }[]> {
    return this.prisma.jobFile.findMany({
      where: { createdAt: { lt: before } },
      orderBy: { createdAt: 'asc' },
      take,
      select: { jobId: true, path: true, storageKey: true },
    });
  }

  /** Forgets deleted files and marks their jobs' files as expired. */
  async forget(files: readonly { jobId: string; path: string }[]): Promise<void> {
    const jobIds = [...new Set(files.map((f) => f.jobId))];
    await this.prisma.$transaction([
      this.prisma.jobFile.deleteMany({ where: { OR: files.map((f) => ({ jobId: f.jobId, path: f.path })) } }),
      this.prisma.job.updateMany({ where: { id: { in: jobIds } }, data: { filesExpiredAt: new Date() } }),
    ]);
  }
}
