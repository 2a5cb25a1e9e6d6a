import type { ErrorBody } from '@mpiaas/contracts';

/** A request the server answered with an error status; `message` is the server's, joined. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  static async from(response: Response): Promise<ApiError> {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as Partial<ErrorBody>;
      if (body.message !== undefined) {
        const text = Array.isArray(body.message) ? body.message.join('; ') : body.message;
        message = `${response.status} ${body.error ?? response.statusText}: ${text}`;
      }
    } catch {
      // Not our error body (a proxy's page, say): the status line says enough.
    }
    return new ApiError(response.status, message);
  }
}

/** The server could not be reached at all. */
export class UnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    const reason = describeCause(cause);
    super(`cannot reach the mpiaas server at ${url}: ${reason}`);
  }
}

function describeCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } })?.cause;
  return inner?.code ?? inner?.message ?? (cause instanceof Error ? cause.message : String(cause));
}
