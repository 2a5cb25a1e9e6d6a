import { Redis } from 'ioredis';

/**
 * Opens a connection for the runtime and waits until it is ready. A Redis that cannot be
 * reached at start is a clear error naming the URL, not a retry loop.
 */
export async function connectRedis(url: string, name: string): Promise<Redis> {
  let lastError: Error | undefined;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    // No INFO round trip (and its parsing) per connection: a job opens two. A Redis still
    // loading its data answers LOADING, which fails the job as any lost Redis does.
    enableReadyCheck: false,
    // Rank traffic must never be sent twice or out of order by client-side retries: a
    // command in flight when the connection drops is not resent, and none is queued while it
    // is down. The transport fails the job on a lost connection instead (an infrastructure
    // fault the service retries from scratch).
    maxRetriesPerRequest: null,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
    // Nor is a subscriber subscribed again behind the transport's back: the job has failed
    // by then, and a SUBSCRIBE with no offline queue could fail unhandled in the worker.
    autoResubscribe: false,
  });
  // Connection errors surface through the commands that fail; keep them off the console.
  redis.on('error', (error: Error) => (lastError = error));
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    const reason = lastError?.message ?? (error as Error).message;
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${reason}`);
  }
  return redis;
}

/** The URL without its password, fit for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}
