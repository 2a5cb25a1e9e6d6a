/**
 * BullMQ queues. The names are stored in Redis by running deployments: never rename one,
 * add a new one instead.
 */
export enum QueueName {
  MpiJobs = 'mpi-jobs',
  /** Webhook deliveries (the api's own consumers): docs/outputs.md. */
  Webhooks = 'webhooks',
}

/** Payload of a webhook delivery: one status change of a job (a row of job_transitions). */
export interface WebhookDeliveryPayload {
  jobId: string;
  transitionId: string;
  event: string;
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
 * BullMQ options of every MpiJobName.Run entry, whoever adds it (the api on POST /jobs, a
 * worker's reconciler re-adding one the queue lost), so a job behaves the same either way.
 * Two attempts: the second covers a worker that died mid-job (infrastructure); a user's
 * script failing is a result the worker records, not a retry. Completed entries are evicted
 * after an hour (Postgres keeps the job), failed ones after a day for inspection. While an
 * entry is kept, adding its id again is a no-op: Postgres, not the entry's absence, says
 * whether a job may still run (a worker claims only a QUEUED or RUNNING job).
 */
export const RUN_JOB_OPTIONS = {
  attempts: 2,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 86_400 },
} as const;

/**
 * Redis pub/sub channel on which the api tells workers to act on a running job, and a
 * worker tells the others it freed slots; the database and the scheduler's state stay the
 * source of truth (`cancelRequested`, reservations), this only makes it immediate.
 */
export const controlChannel = (queuePrefix: string): string => `${queuePrefix}:control`;

export type ControlMessage =
  | { type: 'cancel'; jobId: string }
  /** Worker `from` gave back `slots` slots: jobs other workers hold for slots may ask again now. */
  | { type: 'slots-freed'; from: string; slots: number };
