import type { JobStatus } from './job-status';

/**
 * Output files, the result and webhooks (docs/outputs.md).
 *
 * Every rank gets `MPIAAS_OUTPUT`, a directory of its own (`output/<rank>` in the job's
 * directory); what it leaves there is kept after the job as `<rank>/<path>`. Rank 0 also
 * gets `MPIAAS_RESULT`, a file for at most RESULT_MAX_BYTES of JSON shown as `result`.
 */
export const OUTPUT_ENV = 'MPIAAS_OUTPUT';
export const RESULT_ENV = 'MPIAAS_RESULT';
/** Largest result rank 0 may write to MPIAAS_RESULT. */
export const RESULT_MAX_BYTES = 1024 * 1024;
/**
 * Files the service adds to a job's files, never a rank's (a rank's paths start with its
 * number): `_mpiaas/dropped-<rank>.txt` lists what a rank wrote over the job's limits.
 */
export const SERVICE_FILES_PREFIX = '_mpiaas/';

/** One output file: GET /jobs/{id}/files. */
export interface JobFileView {
  /** `<rank>/<path under that rank's MPIAAS_OUTPUT>`, `/`-separated. */
  path: string;
  bytes: number;
  /** The rank that wrote it; null for the service's marker of dropped files. */
  rank: number | null;
}

export interface JobFileList {
  items: JobFileView[];
}

/** `webhook` of POST /jobs. */
export interface WebhookRequest {
  /** http(s) URL the service POSTs the job view to. */
  url: string;
  /** Key of X-Mpiaas-Signature (HMAC-SHA256); without one, deliveries are unsigned. */
  secret?: string;
  /** Statuses that trigger a delivery. @defaultValue the final ones (SUCCEEDED, FAILED, TIMED_OUT, CANCELLED) */
  events?: JobStatus[];
}

/** The webhook of a job as the api shows it (never the secret). */
export interface WebhookView {
  url: string;
  events: JobStatus[];
  signed: boolean;
}

/** One attempt to deliver an event: GET /jobs/{id}/webhooks. */
export interface WebhookDeliveryView {
  /** The status the delivery reports. */
  event: JobStatus;
  /** 1 for the first try of this event. */
  attempt: number;
  url: string;
  /** The receiver's HTTP status; null when no response came (refused address, timeout, network error). */
  statusCode: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  at: string;
}

export interface WebhookDeliveryList {
  items: WebhookDeliveryView[];
}

/** Headers of a webhook delivery. The body is the job view (JSON) as GET /jobs/{id} shows it. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-mpiaas-signature';
/** Unix seconds when the attempt was sent. The signature covers the body only (the job view, whose finishedAt dates it). */
export const WEBHOOK_TIMESTAMP_HEADER = 'x-mpiaas-timestamp';
export const WEBHOOK_EVENT_HEADER = 'x-mpiaas-event';
/** Stable per (job, event) across retries: a receiver drops a delivery it has already seen. */
export const WEBHOOK_DELIVERY_HEADER = 'x-mpiaas-delivery';
