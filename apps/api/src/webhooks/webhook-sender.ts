import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { WEBHOOK_DELIVERY_HEADER, WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from '@mpiaas/contracts';
import { resolveWebhookTarget, WebhookRefused } from './webhook-address';

/** `sha256=<hex HMAC-SHA256 of the body under the secret>`. */
export function webhookSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookAttempt {
  url: string;
  body: string;
  secret: string | null;
  event: string;
  deliveryId: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The address may never be reached: retrying is pointless. */
  refused: boolean;
}

/** Response bytes read at most (the rest is discarded). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** One POST of a delivery. Never throws: what happened is in the result. Redirects are not followed. */
export async function sendWebhook(attempt: WebhookAttempt): Promise<AttemptResult> {
  const started = Date.now();
  const result = (fields: Omit<AttemptResult, 'durationMs' | 'refused'> & { refused?: boolean }): AttemptResult => ({
    refused: false,
    ...fields,
    durationMs: Date.now() - started,
  });
  let url: URL;
  try {
    url = new URL(attempt.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${url.protocol} URLs are not delivered to`);
  } catch (error) {
    return result({ ok: false, statusCode: null, error: (error as Error).message, refused: true });
  }
  let target;
  try {
    target = await resolveWebhookTarget(url, attempt.allowPrivate);
  } catch (error) {
    return result({ ok: false, statusCode: null, error: (error as Error).message, refused: error instanceof WebhookRefused });
  }
  const body = Buffer.from(attempt.body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': 'mpiaas-webhook/1',
    [WEBHOOK_EVENT_HEADER]: attempt.event,
    [WEBHOOK_DELIVERY_HEADER]: attempt.deliveryId,
    [WEBHOOK_TIMESTAMP_HEADER]: String(Math.floor(Date.now() / 1000)),
    ...(attempt.secret ? { [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(attempt.secret, body) } : {}),
  };
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    else callback(null, target.address, target.family);
  };
  return new Promise<AttemptResult>((resolve) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'POST', headers, lookup: pinned, timeout: attempt.timeoutMs },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        const done = () => {
          const statusCode = response.statusCode ?? null;
          const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
          resolve(result({ ok, statusCode, error: ok ? null : `the receiver answered ${statusCode}` }));
        };
        response.on('end', done);
        response.on('close', done);
      },
    );
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${attempt.timeoutMs} ms`)), attempt.timeoutMs);
    request.on('timeout', () => request.destroy(new Error(`no answer within ${attempt.timeoutMs} ms`)));
    request.on('error', (error) => resolve(result({ ok: false, statusCode: null, error: error.message })));
    request.on('close', () => clearTimeout(timer));
    request.end(body);
  });
}
