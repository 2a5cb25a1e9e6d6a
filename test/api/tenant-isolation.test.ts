// Tenant isolation, route by route: every route the controllers register is found through
// Nest's own metadata (so a route added later is in this test without anyone adding it) and
// must be classified below. Every /jobs/{id}/… route answers another tenant exactly as it
// answers an unknown id: 404, the same message.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ADMIN } from '../../apps/api/src/auth/admin.decorator';
import { IS_PUBLIC } from '../../apps/api/src/auth/public.decorator';
import { LocalDiskStore } from '@mpiaas/storage';
import { parseSse, rawText } from './support/sse';
import { jobBody, startApi, type ApiHarness } from './support/api-harness';
import { ADMIN_KEY, newTenant, type TestTenant } from './support/tenants';

interface Route {
  method: string;
  path: string;
  kind: 'public' | 'admin' | 'tenant';
}

/** Every route of every controller, from the metadata Nest routes by. */
function registeredRoutes(api: ApiHarness): Route[] {
  const discovery = new DiscoveryService(api.app.get(ModulesContainer));
  const reflector = api.app.get(Reflector);
  const scanner = new MetadataScanner();
  const routes: Route[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
    if (!controller) continue;
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of scanner.getAllMethodNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name] as object;
      const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (sub === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      const path = `/${[base, sub].map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`;
      const targets = [handler as () => void, controller];
      const kind = reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)
        ? 'public'
        : reflector.getAllAndOverride<boolean>(IS_ADMIN, targets)
          ? 'admin'
          : 'tenant';
      routes.push({ method, path, kind });
    }
  }
  return routes;
}

/**
 * The routes of the Fastify router itself (its printed tree, read back), to be sure the
 * controllers' metadata is all there is. HEAD routes are the GET ones Fastify adds.
 */
function routerRoutes(api: ApiHarness): string[] {
  const tree = (api.app.getHttpAdapter().getInstance() as FastifyInstance).printRoutes({ commonPrefix: false });
  const segments: string[] = [];
  const found: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, -]+)\))?$/.exec(line);
    if (!match) continue;
    segments.length = match[1]!.length / 4;
    segments.push(match[2] === '*' ? '/*' : match[2]!);
    for (const method of match[3]?.split(', ') ?? []) if (method !== 'HEAD' && method !== '-') found.push(`${method} ${segments.join('')}`);
  }
  return found.filter((route) => !/ \/(docs|ui)\b/.test(route)); // Swagger UI's and the dashboard's own routes
}

/** Tenant routes that are not about one job: each is checked for isolation by a test below. */
const COLLECTION_ROUTES = ['GET /jobs', 'POST /jobs', 'GET /usage'];

let api: ApiHarness;
let owner: TestTenant;
let other: TestTenant;
let jobId: string;
let routes: Route[];
let filesDir: string;

beforeAll(async () => {
  filesDir = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-isolation-files-'));
  api = await startApi({ AUTH_MODE: 'api-key', ADMIN_API_KEY: ADMIN_KEY, STORAGE_DRIVER: 'local', STORAGE_LOCAL_DIR: filesDir });
  owner = await newTenant(api, 'owner');
  other = await newTenant(api, 'other');
  // A finished job with one rank, its output, a diagnosis and a profile, as a worker would leave it
  // (every /jobs/{id}/… route then has something to serve its owner).
  const created = await request(api.server).post('/jobs').set('authorization', owner.auth).send(jobBody({ np: 1 })).expect(201);
  jobId = created.body.id as string;
  await api.db.jobRank.create({ data: { jobId, rank: 0, exitCode: 0, stdoutBytes: 6 } });
  await api.db.logChunk.create({ data: { jobId, rank: 0, stream: 'STDOUT', seq: 0, text: 'hello\n' } });
  // An output file, stored as a worker stores it (GET …/files, …/files/{path}).
  await new LocalDiskStore(filesDir).put(`jobs/${jobId}/1/0/out.txt`, Readable.from([Buffer.from('data\n')]), 5);
  await api.db.jobFile.create({ data: { jobId, path: '0/out.txt', bytes: 5n, rank: 0, storageKey: `jobs/${jobId}/1/0/out.txt` } });
  await api.db.job.update({
    where: { id: jobId },
    data: {
      status: 'SUCCEEDED',
      exitCode: 0,
      startedAt: new Date(),
      finishedAt: new Date(),
      // Only a stopped job has one; here it is stored so that GET …/diagnosis has it to serve.
      diagnosis: { kind: 'timeout', summary: 'rank 0 running', ranks: [{ rank: 0, state: 'running' }] },
      profile: {
        ops: [{ op: 'Bcast', calls: 1, bytes: 8, timeMs: { min: 0.5, avg: 0.5, max: 0.5 }, waitMs: { min: 0, avg: 0, max: 0 } }],
        ranks: [{ rank: 0, wallMs: 10, mpiMs: 0.5 }],
      },
      transitions: { create: { status: 'SUCCEEDED' } },
    },
  });
  routes = registeredRoutes(api);
});

afterAll(async () => {
  await api?.close();
  await rm(filesDir, { recursive: true, force: true });
});

const call = (route: Route, id: string, auth: string) => {
  const url = route.path.replace(':id', id).replace(':rank', '0').replace('*', '0/out.txt');
  const method = route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete' | 'put';
  let test = request(api.server)[method](url).set('authorization', auth);
  if (route.path.endsWith('/events')) test = test.buffer(true).parse(rawText);
  return test;
};

/** The error message, also from a response read as raw text (the event stream's). */
function messageOf(response: request.Response): string {
  const body = (typeof response.body === 'string' ? JSON.parse(response.body) : response.body) as { message: string };
  return body.message;
}

describe('route × tenant matrix', () => {
  it('finds every route: the controllers’ metadata matches the router, and each route is classified', () => {
    const found = routes.map((r) => `${r.method} ${r.path}`).sort();
    expect(found).toEqual(routerRoutes(api).sort());
    const jobRoutes = routes.filter((r) => r.kind === 'tenant' && r.path.startsWith('/jobs/:id'));
    const unclassified = routes.filter(
      (r) => r.kind === 'tenant' && !jobRoutes.includes(r) && !COLLECTION_ROUTES.includes(`${r.method} ${r.path}`),
    );
    // A new tenant route that is not about one job must get an isolation test and be listed above.
    expect(unclassified).toEqual([]);
    expect(routes.filter((r) => r.kind === 'public').map((r) => r.path).sort()).toEqual(['/healthz', '/readyz']);
    expect(jobRoutes.length).toBeGreaterThanOrEqual(6); // get, cancel, logs, stdout, stderr, events
  });

  it('every /jobs/{id}/… route: the owner is served, another tenant gets the 404 of an unknown id', async () => {
    const jobRoutes = routes.filter((r) => r.kind === 'tenant' && r.path.startsWith('/jobs/:id'));
    for (const route of jobRoutes) {
      const name = `${route.method} ${route.path}`;
      const mine = await call(route, jobId, owner.auth);
      // The job has ended: cancelling it is a conflict, but the job is found.
      expect(mine.status, name).toBe(route.path.endsWith('/cancel') ? 409 : 200);
      if (route.path.endsWith('/events')) expect(parseSse(mine.body as string).at(-1)?.event, name).toBe('status');

      const theirs = await call(route, jobId, other.auth);
      const unknownId = randomUUID();
      const unknown = await call(route, unknownId, other.auth);
      expect(theirs.status, name).toBe(404);
      expect(unknown.status, name).toBe(404);
      expect(messageOf(theirs), name).toBe(messageOf(unknown).replace(unknownId, jobId));
    }
    // Nothing changed for the owner: the other tenant's cancel did not reach the job.
    const job = await api.db.job.findUniqueOrThrow({ where: { id: jobId } });
    expect(job.status).toBe('SUCCEEDED');
  });

  it('every admin route refuses a tenant key', async () => {
    for (const route of routes.filter((r) => r.kind === 'admin')) {
      const response = await call(route, owner.id, owner.auth).send({});
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
    }
  });

  it('GET /jobs lists the caller’s jobs only; POST /jobs makes a job of the caller', async () => {
    const mine = await request(api.server).get('/jobs').set('authorization', owner.auth).expect(200);
    expect(mine.body.items.map((j: { id: string }) => j.id)).toEqual([jobId]);
    const theirs = await request(api.server).get('/jobs').set('authorization', other.auth).expect(200);
    expect(theirs.body.items).toEqual([]);
    const created = await request(api.server).post('/jobs').set('authorization', other.auth).send(jobBody()).expect(201);
    expect((await api.db.job.findUniqueOrThrow({ where: { id: created.body.id as string } })).tenantId).toBe(other.id);
  });

  it('GET /usage counts the caller’s jobs only', async () => {
    const usage = await request(api.server).get('/usage').set('authorization', owner.auth).expect(200);
    expect(usage.body).toMatchObject({ tenantId: owner.id, queued: { jobs: 0, ranks: 0 } });
  });
});
