/**
 * BullMQ queues. The names are stored in Redis by running deployments: never rename one,
 * add a new one instead.
 */
export enum QueueName {
  MpiJobs = 'mpi-jobs',
}

/** Job names within QueueName.MpiJobs; a worker refuses to start without a handler for each. */
export enum MpiJobName {
  Run = 'run',
}

/**
 * Payload of MpiJobName.Run. Ids only: the job record (script, env) stays in Postgres, so
 * no user data or secret is copied into Redis. The BullMQ job id is the same `jobId`.
 */
export interface RunJobPayload {
  jobId: string;
  /** The HTTP request's correlation id, carried into the worker's logs. */
  correlationId?: string;
}

/**
 * Redis pub/sub channel on which the api tells workers to act on a running job; the
 * database stays the source of truth (`cancelRequested`), this only makes it immediate.
 */
export const controlChannel = (queuePrefix: string): string => `${queuePrefix}:control`;

export type ControlMessage = { type: 'cancel'; jobId: string };
