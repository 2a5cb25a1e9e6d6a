import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveUi } from './ui.module';

// serveUi on a bare node:http server, as the api mounts it at /ui.
let parent: string;
let root: string;
let server: Server;
let base: string;

function mount(answerTo: ReturnType<typeof serveUi>): Server {
  return createServer((req, res) => {
    void answerTo(req.method ?? 'GET', req.url ?? '/').then((answer) => {
      if (answer) return answer(res);
      res.statusCode = 404;
      res.end('next');
    });
  });
}

beforeAll(async () => {
  parent = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-ui-'));
  root = path.join(parent, 'dist');
  await mkdir(path.join(root, 'assets'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><div id="root"></div>');
  await writeFile(path.join(root, 'assets', 'app-abc.js'), 'console.log(1)');
  await writeFile(path.join(parent, 'secret.txt'), 'no');
  server = mount(serveUi(root));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(parent, { recursive: true, force: true });
});

describe('serveUi', () => {
  it('serves index.html for the app’s pages, not cached, with a content security policy', async () => {
    for (const page of ['/ui', '/ui/', '/ui/jobs/abc', '/ui/index.html']) {
      const response = await fetch(`${base}${page}`);
      expect(response.status, page).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await response.text()).toContain('id="root"');
    }
  });

  it('serves assets with their type, cached for good; HEAD sends no body', async () => {
    const response = await fetch(`${base}/ui/assets/app-abc.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toContain('immutable');
    expect(await response.text()).toBe('console.log(1)');
    const head = await fetch(`${base}/ui/assets/app-abc.js`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('14');
    expect(await head.text()).toBe('');
  });

  it('passes on a missing asset, a path out of its folder, other methods and other paths', async () => {
    expect(await (await fetch(`${base}/ui/assets/missing.js`)).text()).toBe('next');
    expect(await (await fetch(`${base}/ui/..%2fsecret.txt`)).text()).toBe('next');
    expect(await (await fetch(`${base}/ui/bad%zz`)).text()).toBe('next');
    expect(await (await fetch(`${base}/ui/jobs`, { method: 'POST' })).text()).toBe('next');
    expect(await (await fetch(`${base}/uix/index.html`)).text()).toBe('next');
  });

  it('says so when the dashboard is not built', async () => {
    const empty = mount(serveUi(path.join(root, 'nothing-here')));
    await new Promise<void>((resolve) => empty.listen(0, '127.0.0.1', resolve));
    const response = await fetch(`http://127.0.0.1:${(empty.address() as AddressInfo).port}/ui/jobs/x`);
    await new Promise((resolve) => empty.close(resolve));
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('npm run build');
  });
});
