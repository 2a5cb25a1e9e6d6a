import { type LogChunk, LogStream } from '@mpiaas/db';
import type { LogItem, LogStreamName } from '@mpiaas/contracts';

const STREAM_NAMES: Record<LogStream, LogStreamName> = { [LogStream.STDOUT]: 'stdout', [LogStream.STDERR]: 'stderr' };

export const toLogStream = (name: LogStreamName): LogStream => (name === 'stdout' ? LogStream.STDOUT : LogStream.STDERR);

export function toLogItem(chunk: LogChunk): LogItem {
  return { rank: chunk.rank, stream: STREAM_NAMES[chunk.stream], seq: chunk.seq, text: chunk.text };
}
