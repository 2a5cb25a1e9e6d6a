import { Injectable, NotFoundException } from '@nestjs/common';
import { JobStatus } from '@mpiaas/db';
import type { JobPage, JobView } from '@mpiaas/contracts';
import { SchedulerState } from '../queue/scheduler-state';
import type { ListJobsQueryDto } from './dto/list-jobs-query.dto';
import { decodeJobListCursor, encodeJobListCursor } from './job-list-cursor';
import { JobRepository } from './job.repository';
import { type JobWithRanks, toJobView } from './job-view.mapper';

/** Reading jobs. */
@Injectable()
export class JobsService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly scheduler: SchedulerState,
  ) {}

  async get(id: string, tenantId: string): Promise<JobView> {
    const [view] = await this.views([await this.require(id, tenantId)]);
    return view as JobView;
  }

  /** Jobs as shown, QUEUED ones with why they wait (`fresh`: just submitted). */
  async views(jobs: readonly JobWithRanks[], fresh = false): Promise<JobView[]> {
    const pending = await this.scheduler.pendingOf(
      jobs.filter((job) => job.status === JobStatus.QUEUED),
      fresh,
    );
    return jobs.map((job) => toJobView(job, pending.get(job.id) ?? null));
  }

  /**
   * The job or a 404: what every /jobs/{id}/… route starts with. Another tenant's job gets
   * the very answer an unknown id gets, so ids cannot be probed across tenants.
   */
  async require(id: string, tenantId: string): Promise<JobWithRanks> {
    const job = await this.jobs.findOwned(id, tenantId);
    if (!job) throw new NotFoundException(`job ${id} not found`);
    return job;
  }

  async list(query: ListJobsQueryDto, tenantId: string): Promise<JobPage> {
    const after = query.cursor === undefined ? undefined : decodeJobListCursor(query.cursor);
    // One more than asked tells whether an older page exists.
    const rows = await this.jobs.list({ tenantId, status: query.status, after, take: query.limit + 1 });
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    return {
      items: await this.views(items),
      nextCursor: rows.length > query.limit && last ? encodeJobListCursor(last) : null,
    };
  }
}
