import { Inject, Injectable } from '@nestjs/common';
import { type JobStatus, PrismaClient } from '@mpiaas/db';

export interface TransitionRow {
  id: bigint;
  jobId: string;
  status: JobStatus;
  events: string[];
}

/** Webhooks' reads and writes of Postgres. */
@Injectable()
export class WebhookRepository {
  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  /** The newest transition id (where a dispatcher with no cursor starts). */
  async lastTransitionId(): Promise<bigint> {
    const [row] = await this.db.$queryRaw<{ id: bigint | null }[]>`SELECT max(id) AS id FROM job_transitions`;
    return row?.id ?? 0n;
  }

  /**
   * Transitions after `after` (ids, so an index range) of jobs that have a webhook, from the
   * last hour only (a cursor reset never replays history).
   */
  async transitionsAfter(after: bigint, take: number): Promise<TransitionRow[]> {
    const rows = await this.db.$queryRaw<{ id: bigint; job_id: string; status: JobStatus; webhook_events: string[] }[]>`
      SELECT t.id, t.job_id, t.status, j.webhook_events
      FROM job_transitions t JOIN jobs j ON j.id = t.job_id
      WHERE t.id > ${after} AND j.webhook_url IS NOT NULL AND t.at > now() - interval '1 hour'
      ORDER BY t.id
      LIMIT ${take}`;
    return rows.map((row) => ({ id: row.id, jobId: row.job_id, status: row.status, events: row.webhook_events }));
  }

  async jobForDelivery(jobId: string) {
    return this.db.job.findUnique({ where: { id: jobId }, include: { ranks: { orderBy: { rank: 'asc' } } } });
  }

  async recordAttempt(row: {
    jobId: string;
    event: JobStatus;
    attempt: number;
    url: string;
    statusCode: number | null;
    ok: boolean;
    error: string | null;
    durationMs: number;
  }): Promise<void> {
    await this.db.webhookDelivery.create({ data: row });
  }

  async deliveriesOf(jobId: string) {
    return this.db.webhookDelivery.findMany({ where: { jobId }, orderBy: { id: 'asc' }, take: 1000 });
  }
}
