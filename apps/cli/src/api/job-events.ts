import { setTimeout as delay } from 'node:timers/promises';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { isFinalStatus, type JobEvent, type JobStatus, type LogItem } from '@mpiaas/contracts';
import type { ApiClient } from './api-client';
import { ApiError } from './api-error';

export interface FollowHandlers {
  onStatus?(status: JobStatus, reason: string | null, exitCode: number | null): void;
  onLog?(item: LogItem): void;
  /** The stream dropped and is being resumed (attempt number, from 1). */
  onReconnect?(attempt: number, error: unknown): void;
}

/** Reconnect delays: quick at first, then every few seconds, for as long as the job runs. */
const BACKOFF_MS = [200, 500, 1000, 2000, 5000];

/**
 * Follows a job's Server-Sent Events until its final status. A dropped connection is
 * resumed with Last-Event-ID, so no line is lost or shown twice; it gives up only on an
 * answer that retrying cannot change (a 4xx such as 404).
 */
export async function followJob(client: ApiClient, jobId: string, handlers: FollowHandlers, signal: AbortSignal): Promise<void> {
  let lastEventId: string | undefined;
  let finished = false;
  let failures = 0;
  while (!finished && !signal.aborted) {
    try {
      const response = await client.openEvents(jobId, lastEventId, signal);
      failures = 0;
      const parser = createParser({
        onEvent: (message: EventSourceMessage) => {
          if (message.id) lastEventId = message.id;
          const event = { event: message.event, data: JSON.parse(message.data) } as JobEvent;
          if (event.event === 'log') handlers.onLog?.(event.data);
          else if (event.event === 'status') {
            handlers.onStatus?.(event.data.status, event.data.reason, event.data.exitCode);
            if (isFinalStatus(event.data.status)) finished = true;
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
      if (!finished) throw new Error('event stream closed before the job finished');
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
      failures++;
      handlers.onReconnect?.(failures, error);
      await delay(BACKOFF_MS[Math.min(failures, BACKOFF_MS.length) - 1], undefined, { signal }).catch(() => undefined);
    }
  }
}
