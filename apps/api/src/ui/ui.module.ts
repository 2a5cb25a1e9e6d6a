import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

/** Where the dashboard is served: /ui (the jobs), /ui/jobs/{id} (a job). */
export const UI_PREFIX = '/ui';

/** apps/web's build (`npm run build`), from apps/api/dist/ui or apps/api/src/ui alike. */
export const UI_DIST = path.resolve(__dirname, '..', '..', '..', 'web', 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may talk to its own origin only; no inline script, no frame around it (the API
 * key it keeps in localStorage is worth an XSS to someone).
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

async function fileAt(file: string): Promise<number | null> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : null;
  } catch {
    return null;
  }
}

/** Writes the answer to a request under UI_PREFIX. */
export type UiAnswer = (res: ServerResponse) => void;

/**
 * The dashboard's static files, under UI_PREFIX: a file of the build if there is one, else
 * index.html for any path that names no file (the page routes itself: /ui/jobs/{id}). Answers
 * null for what it does not serve (another method, a missing asset, a path out of its folder),
 * which the caller passes on (a 404). `url` is the request's, prefix included.
 */
export function serveUi(root: string = UI_DIST): (method: string, url: string) => Promise<UiAnswer | null> {
  const index = path.join(root, 'index.html');
  const file = async (at: string, method: string, cache: string): Promise<UiAnswer | null> => {
    const size = await fileAt(at);
    if (size === null) return null;
    return (res) => {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': TYPES[path.extname(at)] ?? 'application/octet-stream',
        'content-length': String(size),
        'cache-control': cache,
      });
      if (method === 'HEAD') res.end();
      else createReadStream(at).on('error', () => res.destroy()).pipe(res);
    };
  };

  return async (method, url) => {
    if (method !== 'GET' && method !== 'HEAD') return null;
    const pathname = url.split('?')[0]!;
    if (pathname !== UI_PREFIX && !pathname.startsWith(`${UI_PREFIX}/`)) return null;
    let relative: string;
    try {
      relative = decodeURIComponent(pathname.slice(UI_PREFIX.length)) || '/';
    } catch {
      return null;
    }
    const at = path.join(root, path.normalize(relative));
    const inside = at.startsWith(root + path.sep) && !relative.includes('\0');
    // Vite names assets by their content: they never change under the same name.
    const cache = relative.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    if (inside && at !== index) {
      const answer = await file(at, method, cache);
      if (answer) return answer;
    }
    // A missing asset is a 404; any other path is a page of the app.
    if (path.extname(relative) !== '' && relative !== '/index.html') return null;
    return (
      (await file(index, method, 'no-cache')) ??
      ((res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('The dashboard is not built: run `npm run build` (apps/web) and restart the api.\n'))
    );
  };
}

/**
 * Serves the dashboard under /ui (see serveUi) as Fastify routes of their own, not Nest
 * routes: no API key is needed for the page itself (its API calls carry the key), and what
 * it does not serve gets Nest's 404.
 */
@Module({})
export class UiModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const answerTo = serveUi();
    for (const url of [UI_PREFIX, `${UI_PREFIX}/*`]) {
      fastify.route({
        method: ['GET', 'HEAD'],
        url,
        handler: async (request, reply) => {
          const answer = await answerTo(request.method, request.url);
          if (!answer) return reply.callNotFound();
          reply.hijack();
          answer(reply.raw);
          return reply;
        },
      });
    }
  }
}
