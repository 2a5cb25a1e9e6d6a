import { Injectable, type MessageEvent } from '@nestjs/common';
import { type JobTransition, type LogChunk } from '@mpiaas/db';
import { isFinalStatus, type JobEvent } from '@mpiaas/contracts';
import { Observable } from 'rxjs';
import { JobRepository } from '../jobs/job.repository';
import { LogRepository } from '../logs/log.repository';
import { toLogItem } from '../logs/log-chunk.mapper';
import { type EventPosition, formatEventId } from './event-position';

/** How often an open stream looks for new rows: two indexed queries per look. */
const POLL_INTERVAL_MS = 200;
/** Rows of each kind read per look; a backlog drains over several looks. */
const BATCH = 500;

type Row = { kind: 'status'; row: JobTransition } | { kind: 'log'; row: LogChunk };

/**
 * A job's status transitions and log chunks as Server-Sent Events, from a position on: first
 * what is stored, then what is stored later (polling Postgres). It completes after the
 * final status, which is sent only once every chunk stored before it has been.
 */
@Injectable()
export class JobEventsService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly logs: LogRepository,
  ) {}

  stream(jobId: string, from: EventPosition): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      const position = { ...from };
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const look = async (first: boolean): Promise<void> => {
        try {
          const finished =
            (first && (await this.sentFinal(jobId, position))) ||
            (await this.sendNew(jobId, position, (event) => subscriber.next(event)));
          if (stopped) return;
          if (finished) subscriber.complete();
          else timer = setTimeout(() => void look(false), POLL_INTERVAL_MS);
        } catch (error) {
          if (!stopped) subscriber.error(error);
        }
      };
      void look(true);
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    });
  }

  /** Whether a resuming client was already sent the final status (so has everything). */
  private async sentFinal(jobId: string, position: EventPosition): Promise<boolean> {
    const last = await this.jobs.lastTransition(jobId);
    return last !== null && isFinalStatus(last.status) && last.id <= position.transitionId;
  }

  /** Sends the rows stored after `position` (advancing it); true once the final status is sent. */
  private async sendNew(jobId: string, position: EventPosition, send: (event: MessageEvent) => void): Promise<boolean> {
    // Transitions first: a final status read here was written after all of the job's logs,
    // so the log query that follows sees every one of them.
    const transitions = await this.jobs.transitionsAfter(jobId, position.transitionId, BATCH);
    const chunks = await this.logs.after({ jobId, afterId: position.logChunkId, take: BATCH });
    const finalIndex = transitions.findIndex((t) => isFinalStatus(t.status));
    const final = finalIndex === -1 ? undefined : transitions[finalIndex];
    const earlier = final ? transitions.slice(0, finalIndex) : transitions;

    for (const item of interleave(earlier, chunks)) {
      if (item.kind === 'status') position.transitionId = item.row.id;
      else position.logChunkId = item.row.id;
      send(toMessage(toEvent(item, null), position));
    }
    // More chunks than one batch: the final status waits for the next look.
    if (!final || chunks.length === BATCH) return false;
    const exitCode = (await this.jobs.findStatus(jobId))?.exitCode ?? null;
    position.transitionId = final.id;
    send(toMessage(toEvent({ kind: 'status', row: final }, exitCode), position));
    return true;
  }
}

/**
 * Both kinds merged by the time they were stored (a transition first on a tie), each kind
 * kept in id order — the order the positions advance in.
 */
function interleave(transitions: JobTransition[], chunks: LogChunk[]): Row[] {
  const rows: Row[] = [];
  let t = 0;
  let c = 0;
  while (t < transitions.length || c < chunks.length) {
    const transition = transitions[t];
    const chunk = chunks[c];
    if (transition && (!chunk || transition.at.getTime() <= chunk.createdAt.getTime())) {
      rows.push({ kind: 'status', row: transition });
      t++;
    } else if (chunk) {
      rows.push({ kind: 'log', row: chunk });
      c++;
    }
  }
  return rows;
}

function toEvent(item: Row, exitCode: number | null): JobEvent {
  if (item.kind === 'log') return { event: 'log', data: toLogItem(item.row) };
  return { event: 'status', data: { status: item.row.status, reason: item.row.reason, exitCode } };
}

function toMessage(event: JobEvent, position: EventPosition): MessageEvent {
  return { type: event.event, data: event.data, id: formatEventId(position) };
}
