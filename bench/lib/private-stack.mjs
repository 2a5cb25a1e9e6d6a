// A private mpiaas stack for a benchmark: its own Postgres database, BullMQ prefix, rank-key
// prefix and work directories, all removed at the end (also on failure or Ctrl-C), and the
// api and worker processes run on them.
//   const stack = createPrivateStack({ label: 'svc' });
//   await stack.guard(async () => { await stack.open(); stack.startWorker(…); … });
/* global fetch */ // Node's own (>= 18)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { API_MAIN, MIGRATE, WORKER_MAIN, python, redisUrl, root, run, seconds } from './common.mjs';

const serverUrl = process.env.MPIAAS_TEST_PG_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function withServerClient(fn) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * `label` names the prefixes (`bench-<label>-<id>`, `bench:<label>:<id>:`); `nodeArgs` go
 * to every api and worker process (e.g. --cpu-prof); `onInterrupt` runs first on Ctrl-C.
 */
export function createPrivateStack({ label, nodeArgs = [], onInterrupt = () => undefined }) {
  const id = randomBytes(4).toString('hex');
  const databaseUrl = (() => {
    const url = new URL(serverUrl);
    url.pathname = `/mpiaas_bench_${process.pid}_${id}`;
    return url.toString();
  })();
  const databaseName = new URL(databaseUrl).pathname.slice(1);
  const queuePrefix = `bench-${label}-${id}`;
  const rankPrefix = `bench:${label}:${id}:`;
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-bench-'));
  // The worker makes it (mode 0755: ranks run in a user namespace and must traverse it).
  const workDir = path.join(os.tmpdir(), `mpiaas-bench-work-${id}`);
  const workDirs = new Set([workDir]);
  const children = new Set();
  let databaseCreated = false;
  let interrupted = false;
  let cleaning;

  const stack = {
    id,
    databaseUrl,
    queuePrefix,
    rankPrefix,
    scratch,
    workDir,
    children,
    /** Our own connection to the bench database (after open()). */
    db: undefined,
    apiUrl: undefined,

    /** Another work directory (for one more worker on this host), removed at the end too. */
    extraWorkDir(suffix) {
      const dir = `${workDir}-${suffix}`;
      workDirs.add(dir);
      return dir;
    },

    env(extra = {}) {
      return {
        ...process.env,
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: queuePrefix,
        MPIAAS_REDIS_PREFIX: rankPrefix,
        MPIAAS_PYTHON: python,
        WORK_DIR: workDir,
        LOG_LEVEL: 'warn', // as the test harness; per-request info lines would be measured too otherwise
        // The load generators queue thousands of jobs and send far more than a user's requests
        // per minute: the default tenant's quotas would answer 429 to what is measured.
        TENANT_MAX_QUEUED_JOBS: '1000000',
        TENANT_REQUESTS_PER_MINUTE: '10000000',
        BACKLOG_MAX_QUEUED_RANKS: '100000000',
        ...extra,
      };
    },

    /** A process of the stack; keeps the tail of its output for failure messages. */
    startProcess(name, main, env) {
      const child = spawn(process.execPath, [...nodeArgs, main], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const proc = { name, child, output: '' };
      const keep = (chunk) => (proc.output = (proc.output + chunk.toString()).slice(-20_000));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      proc.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
      children.add(proc);
      return proc;
    },

    startWorker(name, extraEnv) {
      return stack.startProcess(name, WORKER_MAIN, stack.env(extraEnv));
    },

    async stopProcess(proc) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
      await Promise.race([proc.exited, delay(15_000)]);
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
      children.delete(proc);
    },

    /** Polls `check` until it answers true; fails at once if one of `procs` (one or an array) exits. */
    async waitFor(what, check, procs, timeoutMs = 30_000) {
      const watched = [procs].flat();
      const deadline = Date.now() + timeoutMs;
      let lastError;
      while (Date.now() < deadline) {
        for (const proc of watched) {
          if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${proc.output}`);
        }
        try {
          if (await check()) return;
        } catch (error) {
          lastError = error;
        }
        await delay(100);
      }
      throw new Error(`${what} not ready after ${timeoutMs} ms (${lastError?.message ?? 'no answer'}):\n${watched.map((p) => p.output).join('\n')}`);
    },

    /**
     * Creates and migrates the database, connects to it, starts the api (with `apiEnv` on top
     * of the stack's environment; `apiMain`: another build of it) and waits until it is ready.
     */
    async open(apiEnv = {}, apiMain = API_MAIN) {
      run(process.execPath, [MIGRATE, '--database-url', databaseUrl]);
      databaseCreated = true;
      stack.db = new pg.Client({ connectionString: databaseUrl });
      stack.db.on('error', () => undefined); // the drop at the end ends it
      await stack.db.connect();
      const port = await freePort();
      stack.apiUrl = `http://127.0.0.1:${port}`;
      const apiProc = stack.startProcess('api', apiMain, stack.env({ ...apiEnv, PORT: String(port) }));
      await stack.waitFor('api', async () => (await fetch(`${stack.apiUrl}/readyz`)).ok, apiProc);
      return apiProc;
    },

    async api(method, route, body) {
      const response = await fetch(`${stack.apiUrl}${route}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
      return JSON.parse(text);
    },

    async pollFinal(jobId, intervalMs, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await stack.api('GET', `/jobs/${jobId}`);
        if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
        if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
        await delay(intervalMs);
      }
    },

    /** All stdout lines stored for a job, through GET /jobs/{id}/logs. */
    async storedLines(jobId) {
      let text = '';
      let cursor;
      for (;;) {
        const page = await stack.api('GET', `/jobs/${jobId}/logs?stream=stdout&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        for (const item of page.items) text += item.text;
        if (page.items.length === 0) break;
        cursor = page.nextCursor;
      }
      return text.split('\n').filter((line) => line.length > 0);
    },

    /** A trivial job that completes proves a worker consumes (LOG_LEVEL=warn hides its start line). */
    async workerSeen() {
      const job = await stack.api('POST', '/jobs', { script: 'pass\n', np: 1 });
      const final = await stack.pollFinal(job.id, 20, 30_000);
      if (final.status !== 'SUCCEEDED') throw new Error(`a trivial job ended ${final.status}: ${final.reason}\n${final.stderrTail ?? ''}`);
      return true;
    },

    /**
     * POST /jobs → final status, timed; it must have SUCCEEDED with `expect.lines` stdout lines
     * stored, each starting with `expect.prefix`. Returns the seconds, the final job and its lines.
     */
    async timedJob(body, expect) {
      const started = process.hrtime.bigint();
      const job = await stack.api('POST', '/jobs', body);
      const final = await stack.pollFinal(job.id, 10);
      const elapsed = seconds(started);
      if (final.status !== 'SUCCEEDED') throw new Error(`${expect.name} ${final.status}: ${final.reason}`);
      const lines = await stack.storedLines(job.id);
      if (lines.length !== expect.lines || !lines.every((l) => l.startsWith(expect.prefix))) {
        throw new Error(`${expect.name} stored ${lines.length} lines:\n${lines.join('\n')}`);
      }
      return { seconds: elapsed, final, lines };
    },

    cleanup() {
      cleaning ??= (async () => {
        await Promise.all([...children].map((proc) => stack.stopProcess(proc).catch(() => undefined)));
        await stack.db?.end().catch(() => undefined);
        const queue = new Queue('mpi-jobs', { connection: { url: redisUrl }, prefix: queuePrefix });
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close().catch(() => undefined);
        // Whatever else lives under our two prefixes (and only there).
        const redis = new Redis(redisUrl);
        for (const pattern of [`${queuePrefix}:*`, `${rankPrefix}*`]) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) await redis.del(...keys);
          } while (cursor !== '0');
        }
        redis.disconnect();
        if (databaseCreated) await withServerClient((c) => c.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`));
        rmSync(scratch, { recursive: true, force: true });
        for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
      })();
      return cleaning;
    },

    /**
     * Runs the benchmark body; whatever happens (error, Ctrl-C), the stack is removed after.
     * An error is printed with the tail of every process's output and sets exit code 1.
     */
    async guard(body) {
      try {
        await body();
      } catch (error) {
        if (interrupted) await stack.cleanup().finally(() => process.exit(130)); // what failed was the cleanup's doing
        console.error(error instanceof Error ? error.stack : error);
        for (const proc of children) console.error(`--- ${proc.name}\n${proc.output}`);
        process.exitCode = 1;
      } finally {
        await stack.cleanup().catch((error) => {
          console.error(`cleanup failed: ${error.message}`);
          process.exitCode = 1;
        });
      }
    },
  };

  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`\n${signal}: cleaning up`);
      onInterrupt();
      stack.cleanup().finally(() => process.exit(130));
    });
  }
  return stack;
}
