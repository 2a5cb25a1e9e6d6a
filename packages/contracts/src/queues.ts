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
