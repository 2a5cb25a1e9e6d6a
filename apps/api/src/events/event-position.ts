import { BadRequestException } from '@nestjs/common';

/**
 * How far a client has read a job's events: the last JobTransition id and the last LogChunk
 * id it was sent. Both go into each SSE `id:` as "<transitionId>.<logChunkId>", so a
 * reconnect with Last-Event-ID resumes each sequence exactly where it stopped.
 */
export interface EventPosition {
  transitionId: bigint;
  logChunkId: bigint;
}

export const START: EventPosition = { transitionId: 0n, logChunkId: 0n };

export const formatEventId = (position: EventPosition): string => `${position.transitionId}.${position.logChunkId}`;

/** Up to 18 digits: always within Postgres' bigint. */
export function parseEventId(lastEventId: string | undefined): EventPosition {
  if (lastEventId === undefined || lastEventId === '') return START;
  const match = /^(\d{1,18})\.(\d{1,18})$/.exec(lastEventId);
  if (!match) throw new BadRequestException('Last-Event-ID must be an id this stream sent ("<n>.<n>")');
  return { transitionId: BigInt(match[1]!), logChunkId: BigInt(match[2]!) };
}
