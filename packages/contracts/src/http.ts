import type { JobStatus } from './job-status';
import type { JobLauncher } from './launcher';
import type { WebhookRequest, WebhookView } from './outputs';
import type { PendingView, PlacementPolicy } from './placement';

/** Body of POST /jobs. */
export interface CreateJobRequest {
  script: string;
  np: number;
  args?: string[];
  env?: Record<string, string>;
  timeoutSeconds?: number;
  name?: string;
  labels?: Record<string, string>;
  /** @defaultValue 'pack' */
  placement?: PlacementPolicy;
  /** Run on fewer slots than ranks if the cluster is smaller than np. @defaultValue false */
  oversubscribe?: boolean;
  /** How each rank starts: the script, or `python -m mpi4py.futures` with it. @defaultValue 'script' */
  launcher?: JobLauncher;
  /** POST the job view here on its final status (and others if asked): docs/outputs.md. */
  webhook?: WebhookRequest;
}

export interface RankView {
  rank: number;
  /** The worker the rank runs (ran) on; null before the job starts. */
  worker: string | null;
  exitCode: number | null;
  signal: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  stdoutBytes: number;
  stderrBytes: number;
  /** Output past the per-rank cap was dropped (a marker line says so in the log). */
  truncated: boolean;
}

/** A job as the api returns it. Dates are ISO-8601 strings. */
export interface JobView {
  id: string;
  name: string | null;
  labels: Record<string, string>;
  status: JobStatus;
  /** Why the job ended as it did, e.g. "rank 2 exited with code 1"; null while it runs or on success. */
  reason: string | null;
  np: number;
  args: string[];
  timeoutSeconds: number;
  placement: PlacementPolicy;
  oversubscribe: boolean;
  launcher: JobLauncher;
  /** While QUEUED: why the job has not started yet; null otherwise. */
  pending: PendingView | null;
  exitCode: number | null;
  failedRank: number | null;
  /** Last lines of the failed rank's stderr (FAILED jobs). */
  stderrTail: string | null;
  /** Where the ranks stood if a deadlock, mismatch, timeout or cancel stopped the job (details: GET /jobs/{id}/diagnosis). */
  diagnosisSummary: string | null;
  /** The JSON rank 0 wrote to MPIAAS_RESULT; null if none (or unusable: see resultError). */
  result: unknown;
  /** Why the result file was not kept (invalid JSON, over 1 MiB); the status does not depend on it. */
  resultError: string | null;
  /** Output files dropped over the job's limits (listed in `_mpiaas/dropped-<rank>.txt`). */
  filesDropped: number;
  /** When the retention pass deleted the job's output files; null while they are kept. */
  filesExpiredAt: string | null;
  webhook: WebhookView | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  ranks: RankView[];
}

export interface JobPage {
  items: JobView[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export type LogStreamName = 'stdout' | 'stderr';

export interface LogItem {
  rank: number;
  stream: LogStreamName;
  /** Position of this chunk in its rank's stream, from 0. */
  seq: number;
  text: string;
}

export interface LogPage {
  items: LogItem[];
  /**
   * Pass as `cursor` to continue after the last item returned — also to poll for lines
   * stored later (it equals the cursor given when no item was returned).
   */
  nextCursor: string;
}

/** The one error body of every failed request. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  correlationId: string;
}

/** Server-Sent Events of GET /jobs/{id}/events: `event:` names and their `data:` JSON. */
export type JobEvent =
  | { event: 'status'; data: { status: JobStatus; reason: string | null; exitCode: number | null } }
  | { event: 'log'; data: LogItem };

export const CORRELATION_HEADER = 'x-correlation-id';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
