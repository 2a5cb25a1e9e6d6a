// The api as the dashboard calls it: same origin, the API key (if any) as a bearer token.
// Types mirror @mpiaas/contracts; the parts other engineers are adding (files, result,
// profile) are optional, and shown only when the api has them.

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];
export const isFinal = (status: JobStatus): boolean => FINAL_STATUSES.includes(status);

export interface RankView {
  rank: number;
  worker: string | null;
  exitCode: number | null;
  signal: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
}

export interface PendingView {
  reason: string;
  slotsNeeded: number;
  slotsFree: number;
}

export interface TransitionView {
  status: JobStatus;
  at: string;
  reason?: string | null;
}

export interface JobView {
  id: string;
  name: string | null;
  labels: Record<string, string>;
  status: JobStatus;
  reason: string | null;
  np: number;
  args: string[];
  timeoutSeconds: number;
  placement: 'pack' | 'spread';
  oversubscribe: boolean;
  launcher: 'script' | 'futures';
  pending: PendingView | null;
  exitCode: number | null;
  failedRank: number | null;
  stderrTail: string | null;
  diagnosisSummary: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  ranks: RankView[];
  /** Rank 0's MPIAAS_RESULT, once the api serves it. */
  result?: unknown;
  resultError?: string | null;
  /** Where the job's statuses are POSTed (never the secret). */
  webhook?: { url: string; events: JobStatus[]; signed: boolean } | null;
  /** Output files dropped over the job's limits, and when retention deleted the files. */
  filesDropped?: number;
  filesExpiredAt?: string | null;
  /** The job's status transitions with their times, if the api exposes them. */
  transitions?: TransitionView[];
}

export interface JobPage {
  items: JobView[];
  nextCursor: string | null;
}

export interface CreateJobRequest {
  script: string;
  np: number;
  args?: string[];
  env?: Record<string, string>;
  timeoutSeconds?: number;
  name?: string;
  labels?: Record<string, string>;
  webhook?: { url: string; secret?: string };
}

export interface LogItem {
  rank: number;
  stream: 'stdout' | 'stderr';
  seq: number;
  text: string;
}

export interface FileItem {
  /** `<rank>/<path under that rank's MPIAAS_OUTPUT>`. */
  path: string;
  bytes: number;
  /** null for the service's own marker of files dropped over the limits. */
  rank: number | null;
}

export interface WebhookDeliveryView {
  event: JobStatus;
  attempt: number;
  url: string;
  statusCode: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  at: string;
}

export interface RankDiagnosisView {
  rank: number;
  state: 'blocked' | 'finished' | 'running';
  where?: string | null;
  call?: string | null;
  stack?: string | null;
}

export interface JobDiagnosisView {
  kind: 'deadlock' | 'mismatch' | 'timeout' | 'cancel';
  summary: string;
  ranks: RankDiagnosisView[];
}

export interface Spread {
  min: number;
  avg: number;
  max: number;
}

export interface ProfileView {
  ops: { op: string; calls: number; bytes: number; timeMs: Spread; waitMs: Spread }[];
  ranks: { rank: number; wallMs: number; mpiMs: number }[];
}

const KEY_STORAGE = 'mpiaas.apiKey';

export function storedKey(): string | null {
  return localStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  window.dispatchEvent(new Event('mpiaas:key'));
}

/** An answer other than 2xx, with the api's message (one string, or the list of broken rules joined). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Subscribers told when the api refused the key (so the page can ask for one). */
const unauthorizedListeners = new Set<(message: string) => void>();
export function onUnauthorized(listener: (message: string) => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = storedKey();
  return key ? { authorization: `Bearer ${key}`, ...extra } : extra;
}

async function failure(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { message?: string | string[] };
    if (Array.isArray(body.message)) message = body.message.join('; ');
    else if (body.message) message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401) for (const listener of unauthorizedListeners) listener(message);
  return new ApiError(response.status, message);
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(path, { ...init, headers: headers(init.headers as Record<string, string> | undefined) });
  if (!response.ok) throw await failure(response);
  return response;
}

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

/** The body, or null when the api answers 404 (no such thing, or a route this api does not have yet). */
async function optional<T>(path: string): Promise<T | null> {
  try {
    return await json<T>(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export const jobPath = (id: string): string => `/jobs/${encodeURIComponent(id)}`;
export const filePath = (id: string, path: string): string =>
  `${jobPath(id)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;

export const api = {
  listJobs: (query: { status?: JobStatus | ''; cursor?: string | null; limit?: number }): Promise<JobPage> => {
    const params = new URLSearchParams({ limit: String(query.limit ?? 100) });
    if (query.status) params.set('status', query.status);
    if (query.cursor) params.set('cursor', query.cursor);
    return json<JobPage>(`/jobs?${params}`);
  },
  getJob: (id: string): Promise<JobView> => json<JobView>(jobPath(id)),
  createJob: (body: CreateJobRequest): Promise<JobView> =>
    json<JobView>('/jobs', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  cancelJob: (id: string): Promise<JobView> => json<JobView>(`${jobPath(id)}/cancel`, { method: 'POST' }),
  files: (id: string): Promise<{ items: FileItem[] } | null> => optional(`${jobPath(id)}/files`),
  diagnosis: (id: string): Promise<JobDiagnosisView | null> => optional(`${jobPath(id)}/diagnosis`),
  profile: (id: string): Promise<ProfileView | null> => optional(`${jobPath(id)}/profile`),
  webhooks: (id: string): Promise<{ items: WebhookDeliveryView[] } | null> => optional(`${jobPath(id)}/webhooks`),
  /** Checks a key before it is kept: any job route answers 401 to a bad one. */
  checkKey: async (key: string): Promise<void> => {
    const response = await fetch('/jobs?limit=1', { headers: { authorization: `Bearer ${key}` } });
    if (response.ok) return;
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new ApiError(response.status, body.message ?? `${response.status} ${response.statusText}`);
  },
};

/**
 * Downloads a job's file: fetched with the key (a plain link could not send it), then handed
 * to the browser as a download under the file's own name.
 */
export async function downloadFile(id: string, path: string): Promise<void> {
  const blob = await (await request(filePath(id, path))).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = path.split('/').pop() ?? path;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export type JobStreamEvent =
  | { event: 'status'; data: { status: JobStatus; reason: string | null; exitCode: number | null } }
  | { event: 'log'; data: LogItem };

/**
 * Follows GET /jobs/{id}/events: EventSource cannot send a bearer token, so the stream is
 * read with fetch and parsed here. Resumes after the last event id when the connection
 * drops; resolves once the stream ends after the final status, or when `signal` aborts.
 */
export async function followEvents(id: string, onEvent: (event: JobStreamEvent) => void, signal: AbortSignal): Promise<void> {
  let lastId: string | null = null;
  let finished = false;
  while (!signal.aborted && !finished) {
    try {
      const response = await request(`${jobPath(id)}/events`, {
        signal,
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
      });
      if (!response.body) return;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const parsed = parseBlock(block);
          if (!parsed) continue;
          if (parsed.id) lastId = parsed.id;
          if (parsed.event === 'status' || parsed.event === 'log') {
            const event = { event: parsed.event, data: JSON.parse(parsed.data) } as JobStreamEvent;
            onEvent(event);
            if (event.event === 'status' && isFinal(event.data.status)) finished = true;
          }
        }
      }
      // The server ends the stream after the final status; an end before it is a dropped connection.
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status !== 503 && error.status !== 502) throw error;
    }
    if (!finished && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function parseBlock(block: string): { event: string; data: string; id: string | null } | null {
  let event = 'message';
  const data: string[] = [];
  let id: string | null = null;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return data.length === 0 ? null : { event, data: data.join('\n'), id };
}
