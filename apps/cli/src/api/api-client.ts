import {
  CORRELATION_HEADER,
  IDEMPOTENCY_HEADER,
  type CreateJobRequest,
  type JobFileList,
  type JobPage,
  type JobProfileView,
  type JobStatus,
  type JobView,
  type LogPage,
  type LogStreamName,
  type UsageView,
} from '@mpiaas/contracts';
import { ApiError, UnreachableError } from './api-error';

export interface ApiClientOptions {
  baseUrl: string;
  token?: string;
}

export interface LogQuery {
  rank?: number;
  stream?: LogStreamName;
  cursor?: string;
  limit?: number;
}

/** Typed calls to the mpiaas HTTP API (contracts in @mpiaas/contracts). */
export class ApiClient {
  readonly baseUrl: string;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  createJob(request: CreateJobRequest, idempotencyKey?: string): Promise<JobView> {
    return this.json('POST', '/jobs', request, idempotencyKey ? { [IDEMPOTENCY_HEADER]: idempotencyKey } : {});
  }

  getJob(id: string): Promise<JobView> {
    return this.json('GET', `/jobs/${encodeURIComponent(id)}`);
  }

  listJobs(query: { status?: JobStatus; limit?: number; cursor?: string }): Promise<JobPage> {
    return this.json('GET', `/jobs${queryString(query)}`);
  }

  /** Per MPI op and per rank, where a finished job's time went (404 when it has none). */
  getProfile(id: string): Promise<JobProfileView> {
    return this.json('GET', `/jobs/${encodeURIComponent(id)}/profile`);
  }

  /** The job's output files (docs/outputs.md). */
  listFiles(id: string): Promise<JobFileList> {
    return this.json('GET', `/jobs/${encodeURIComponent(id)}/files`);
  }

  /** One output file, as a response whose body streams it. */
  async downloadFile(id: string, filePath: string): Promise<Response> {
    const encoded = filePath.split('/').map(encodeURIComponent).join('/');
    const response = await this.fetch(`/jobs/${encodeURIComponent(id)}/files/${encoded}`, { headers: this.authHeaders() });
    if (!response.ok) throw await ApiError.from(response);
    return response;
  }

  getLogs(id: string, query: LogQuery): Promise<LogPage> {
    return this.json('GET', `/jobs/${encodeURIComponent(id)}/logs${queryString({ ...query })}`);
  }

  /** The caller's tenant: jobs queued and running, rank-seconds, quotas (also: does the key work). */
  getUsage(): Promise<UsageView> {
    return this.json('GET', '/usage');
  }

  cancelJob(id: string): Promise<JobView> {
    return this.json('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /** Opens the job's event stream, resuming after `lastEventId` if given. */
  async openEvents(id: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/event-stream', ...this.authHeaders() };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const response = await this.fetch(`/jobs/${encodeURIComponent(id)}/events`, { headers, signal });
    if (!response.ok) throw await ApiError.from(response);
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.authHeaders(), ...extra };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.fetch(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await ApiError.from(response);
    return (await response.json()) as T;
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, init);
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new UnreachableError(this.baseUrl, error);
    }
  }

  private authHeaders(): Record<string, string> {
    const headers: Record<string, string> = { [CORRELATION_HEADER]: `cli-${process.pid}-${Date.now().toString(36)}` };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    return headers;
  }
}

function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}
