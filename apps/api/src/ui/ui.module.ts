import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

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

/**
 * The dashboard's static files, mounted at UI_PREFIX: a file of the build if there is one,
 * else index.html for any path that names no file (the page routes itself: /ui/jobs/{id}).
 * Plain Express middleware, not a Nest route: no API key is needed for the page itself (its
 * API calls carry the key), and the controllers' routes stay all the routes there are.
 */
export function serveUi(root: string = UI_DIST): RequestHandler {
  const index = path.join(root, 'index.html');
  const send = async (res: Response, file: string, method: string, cache: string): Promise<boolean> => {
    const size = await fileAt(file);
    if (size === null) return false;
    res.status(200).set({
      ...SECURITY_HEADERS,
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': String(size),
      'cache-control': cache,
    });
    if (method === 'HEAD') res.end();
    else createReadStream(file).on('error', () => res.destroy()).pipe(res);
    return true;
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    void (async () => {
      let relative: string;
      try {
        relative = decodeURIComponent(req.path);
      } catch {
        return next();
      }
      const file = path.join(root, path.normalize(relative));
      const inside = file.startsWith(root + path.sep) && !relative.includes('\0');
      // Vite names assets by their content: they never change under the same name.
      const cache = relative.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      if (inside && file !== index && (await send(res, file, req.method, cache))) return;
      // A missing asset is a 404; any other path is a page of the app.
      if (path.extname(relative) !== '' && relative !== '/index.html') return next();
      if (await send(res, index, req.method, 'no-cache')) return;
      res
        .status(404)
        .type('text/plain')
        .send('The dashboard is not built: run `npm run build` (apps/web) and restart the api.\n');
    })().catch(next);
  };
}

/** Serves the dashboard under /ui (see serveUi). */
@Module({})
export class UiModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    // Registered after the controllers' routes and before Nest's 404 handler.
    this.adapterHost.httpAdapter.use(UI_PREFIX, serveUi());
  }
}
