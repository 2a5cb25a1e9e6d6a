import { channel } from 'node:diagnostics_channel';

/**
 * What the job runner tells the metrics about the jobs it leads, on a diagnostics channel: the
 * runner needs no reference to the metrics (and costs nothing without a subscriber), the
 * metrics need none to the runner. Events carry the publishing worker's id: a process may
 * host several workers (tests), each counting only its own.
 */
export type JobLifecycleEvent =
  | { kind: 'started'; workerId: string; createdAt: Date; startedAt: Date }
  | { kind: 'finished'; workerId: string; status: string; reason: string | null; startedAt: Date | null; finishedAt: Date }
  | { kind: 'collective'; workerId: string; op: string; seconds: number };

export const JOB_LIFECYCLE_CHANNEL = 'mpiaas:worker:jobs';

const lifecycle = channel(JOB_LIFECYCLE_CHANNEL);

function publish(event: JobLifecycleEvent): void {
  if (lifecycle.hasSubscribers) lifecycle.publish(event);
}

/** A job's first attempt was claimed: it waited from createdAt to startedAt. */
export function jobStarted(workerId: string, job: { createdAt: Date; startedAt: Date | null }): void {
  publish({ kind: 'started', workerId, createdAt: job.createdAt, startedAt: job.startedAt ?? new Date() });
}

/** This worker stored a job's final status (startedAt null: it never ran). */
export function jobFinished(workerId: string, status: string, reason: string | null | undefined, startedAt: Date | null): void {
  publish({ kind: 'finished', workerId, status, reason: reason ?? null, startedAt, finishedAt: new Date() });
}

/** A rank of a job this worker hosts completed a collective `op` (as the user called it) in `seconds`. */
export function collectiveCompleted(workerId: string, op: string, seconds: number): void {
  publish({ kind: 'collective', workerId, op, seconds });
}

export function subscribeJobLifecycle(listener: (event: JobLifecycleEvent) => void): () => void {
  const handler = (message: unknown): void => listener(message as JobLifecycleEvent);
  lifecycle.subscribe(handler);
  return () => lifecycle.unsubscribe(handler);
}
