// Benchmarks the service end to end (api + worker, as deployed) against baselines measured
// in the same run, on a private stack: its own Postgres database, BullMQ prefix, rank-key
// prefix and work directory, all removed at the end (also on failure or Ctrl-C).
//   1. hello.py at np 4, POST /jobs → SUCCEEDED (4 lines stored)  vs  mpirun -np 4
//   2. POST /jobs throughput and latency under load, no worker     vs  GET /healthz
//   3. tiny jobs (`pass`, np 1) completed per second by one worker  vs  python3 -c pass, mpirun -np 1
//   4. 1M log lines from 4 ranks stored in Postgres                 vs  the same 4 processes > file
// Usage: npm run bench:service [-- --quick] [-- --profile=DIR]     (prints a Markdown table)
//   --profile=DIR: the api and worker processes run with --cpu-prof, profiles written to DIR
//   (open them in Chrome DevTools or speedscope).
/* global fetch */ // Node's own (>= 18)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const profileDir = process.argv.find((arg) => arg.startsWith('--profile='))?.slice('--profile='.length);
const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];
const python = '/usr/bin/python3'; // Debian's, with mpi4py for mpirun; the worker's ranks use it too
const mpiEnv = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };
const redisUrl = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
const serverUrl = process.env.MPIAAS_TEST_PG_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/postgres';
const API_MAIN = path.join(root, 'apps/api/dist/main.js');
const WORKER_MAIN = path.join(root, 'apps/worker/dist/main.js');
const MIGRATE = path.join(root, 'packages/db/dist/migrate-cli.js');

const sizes = quick
  ? { helloRuns: 3, loadSeconds: 3, warmSeconds: 1, tinyJobs: 30, mpirunTiny: 5, linesPerRank: 25_000 }
  : { helloRuns: 7, loadSeconds: 10, warmSeconds: 2, tinyJobs: 200, mpirunTiny: 20, linesPerRank: 250_000 };
const CONNECTIONS = 16;
const LOG_CAP_BYTES = String(64 * 1024 ** 2);

for (const file of ['/usr/bin/mpirun', API_MAIN, WORKER_MAIN, MIGRATE]) {
  if (!existsSync(file)) {
    console.error(`${file} not found: run \`npm run build\` (and \`bash scripts/test.sh\` once for Open MPI + mpi4py)`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------- the private stack

const id = randomBytes(4).toString('hex');
const databaseUrl = (() => {
  const url = new URL(serverUrl);
  url.pathname = `/mpiaas_bench_${process.pid}_${id}`;
  return url.toString();
})();
const databaseName = new URL(databaseUrl).pathname.slice(1);
const queuePrefix = `bench-svc-${id}`;
const rankPrefix = `bench:svc:${id}:`;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-bench-'));
// The worker makes it (mode 0755: ranks run in a user namespace and must traverse it).
const workDir = path.join(os.tmpdir(), `mpiaas-bench-work-${id}`);
const children = new Set();
let databaseCreated = false;
let db; // our own connection to the bench database

function stackEnv(extra = {}) {
  return {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: queuePrefix,
    MPIAAS_REDIS_PREFIX: rankPrefix,
    MPIAAS_PYTHON: python,
    WORK_DIR: workDir,
    LOG_LEVEL: 'warn', // as the test harness; per-request info lines would be measured too otherwise
    ...extra,
  };
}

/** A process of the stack; keeps the tail of its output for failure messages. */
function startProcess(name, main, env) {
  const child = spawn(process.execPath, [...nodeArgs, main], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { name, child, output: '' };
  const keep = (chunk) => (proc.output = (proc.output + chunk.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  proc.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  children.add(proc);
  return proc;
}

async function stopProcess(proc) {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  await Promise.race([proc.exited, delay(15_000)]);
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
  children.delete(proc);
}

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

async function waitFor(what, check, proc, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${proc.output}`);
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await delay(100);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms (${lastError?.message ?? 'no answer'}):\n${proc.output}`);
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

let cleaning;
let interrupted = false;
function cleanup() {
  cleaning ??= (async () => {
    await Promise.all([...children].map((proc) => stopProcess(proc).catch(() => undefined)));
    await db?.end().catch(() => undefined);
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
    rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- helpers

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (startNs) => Number(process.hrtime.bigint() - startNs) / 1e9;

function run(command, args, env = process.env, stdout = 'pipe') {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', stdout, 'pipe'] });
  const elapsed = seconds(started);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return { stdout: result.stdout, seconds: elapsed };
}

/** Starts `count` processes at once and waits for all: wall seconds. */
function runParallel(count, makeArgs) {
  const started = process.hrtime.bigint();
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const { command, args, env, stdout } = makeArgs(i);
      return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', stdout, 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: ${code}\n${stderr}`))));
      });
    }),
  ).then(() => seconds(started));
}

let apiUrl;
async function api(method, route, body) {
  const response = await fetch(`${apiUrl}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function pollFinal(jobId, intervalMs, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await api('GET', `/jobs/${jobId}`);
    if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
    await delay(intervalMs);
  }
}

/** All stdout lines stored for a job, through GET /jobs/{id}/logs. */
async function storedLines(jobId) {
  let text = '';
  let cursor;
  for (;;) {
    const page = await api('GET', `/jobs/${jobId}/logs?stream=stdout&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const item of page.items) text += item.text;
    if (page.items.length === 0) break;
    cursor = page.nextCursor;
  }
  return text.split('\n').filter((line) => line.length > 0);
}

function cannon(options) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, pipelining: 1, ...options }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

// ---------------------------------------------------------------- the benchmarks

const loadBefore = os.loadavg();
const rows = [];
const notes = [];
const fmtS = (s) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);
const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
const fmtRate = (r, unit) => `${r >= 100 ? r.toFixed(0) : r.toFixed(1)} ${unit}`;

try {
  run(process.execPath, [MIGRATE, '--database-url', databaseUrl]);
  databaseCreated = true;
  db = new pg.Client({ connectionString: databaseUrl });
  db.on('error', () => undefined); // the drop at the end ends it
  await db.connect();

  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const apiProc = startProcess('api', API_MAIN, stackEnv({ PORT: String(port) }));
  await waitFor('api', async () => (await fetch(`${apiUrl}/readyz`)).ok, apiProc);

  // 2. POST /jobs under load, nobody consuming: the jobs just queue.
  const submitBody = JSON.stringify({ script: 'pass\n', np: 1, timeoutSeconds: 60 });
  const postOptions = { url: `${apiUrl}/jobs`, method: 'POST', headers: { 'content-type': 'application/json' }, body: submitBody };
  await cannon({ url: `${apiUrl}/healthz`, duration: sizes.warmSeconds });
  const health = await cannon({ url: `${apiUrl}/healthz`, duration: sizes.loadSeconds });
  await cannon({ ...postOptions, duration: sizes.warmSeconds });
  const { rows: [{ n: beforeLoad }] } = await db.query('SELECT count(*)::int AS n FROM jobs');
  const posts = await cannon({ ...postOptions, duration: sizes.loadSeconds });
  const { rows: [{ n: afterLoad }] } = await db.query('SELECT count(*)::int AS n FROM jobs');
  const created = afterLoad - beforeLoad;
  const queue = new Queue('mpi-jobs', { connection: { url: redisUrl }, prefix: queuePrefix });
  const waiting = (await queue.getJobCounts('wait')).wait;
  if (posts.non2xx > 0 || posts.errors > 0 || posts.timeouts > 0) {
    notes.push(`POST /jobs under load: ${posts.non2xx} non-2xx, ${posts.errors} errors, ${posts.timeouts} timeouts`);
  }
  notes.push(
    `POST /jobs load: ${CONNECTIONS} connections, ${sizes.loadSeconds} s: ${posts['2xx']} responses 2xx, ` +
      `${created} jobs rows created, ${waiting} jobs waiting in the queue (warm-up runs excluded from the rows count, not from the queue)`,
  );
  const postRate = posts['2xx'] / sizes.loadSeconds;
  rows.push({
    name: `POST /jobs throughput (${CONNECTIONS} conn, ${sizes.loadSeconds} s)`,
    base: fmtRate(health.requests.average, 'req/s'),
    ours: fmtRate(postRate, 'jobs/s'),
    ratio: `${(postRate / health.requests.average).toFixed(2)}x`,
    target: '≥ 2000 jobs/s',
    met: postRate >= 2000,
  });
  rows.push({
    name: 'POST /jobs latency p50 / p99',
    base: `${health.latency.p50} / ${health.latency.p99} ms`,
    ours: `${posts.latency.p50} / ${posts.latency.p99} ms`,
    ratio: `${(posts.latency.p99 / Math.max(health.latency.p99, 1)).toFixed(1)}x (p99)`,
    target: 'p99 ≤ 50 ms',
    met: posts.latency.p99 <= 50,
  });
  // Nothing of the load may reach the worker: forget the queued runs and their rows.
  await queue.obliterate({ force: true });
  await queue.close();
  await db.query('TRUNCATE jobs CASCADE');

  // One worker with the default config (SLOTS etc.).
  let worker = startProcess('worker', WORKER_MAIN, stackEnv({ WORKER_ID: `bench-${id}` }));
  await waitFor('worker', workerSeen, worker);
  async function workerSeen() {
    // A trivial job that completes proves the worker consumes (LOG_LEVEL=warn hides its start line).
    const job = await api('POST', '/jobs', { script: 'pass\n', np: 1 });
    const final = await pollFinal(job.id, 20, 30_000);
    if (final.status !== 'SUCCEEDED') throw new Error(`a trivial job ended ${final.status}: ${final.reason}\n${final.stderrTail ?? ''}`);
    return true;
  }

  // 1. hello at np 4.
  const hello = readFileSync(path.join(root, 'examples/hello.py'), 'utf8');
  const helloBase = [];
  const helloOurs = [];
  const helloOnce = async () => {
    const started = process.hrtime.bigint();
    const job = await api('POST', '/jobs', { script: hello, np: 4 });
    const final = await pollFinal(job.id, 10);
    const elapsed = seconds(started);
    if (final.status !== 'SUCCEEDED') throw new Error(`hello ${final.status}: ${final.reason}`);
    const lines = await storedLines(job.id);
    if (lines.length !== 4 || !lines.every((l) => l.startsWith("Hello! I'm rank"))) {
      throw new Error(`hello stored ${lines.length} lines:\n${lines.join('\n')}`);
    }
    return elapsed;
  };
  run('mpirun', ['-np', '4', python, 'examples/hello.py'], mpiEnv); // warm-up
  await helloOnce();
  for (let i = 0; i < sizes.helloRuns; i++) {
    helloBase.push(run('mpirun', ['-np', '4', python, 'examples/hello.py'], mpiEnv).seconds);
    helloOurs.push(await helloOnce());
  }
  const hb = median(helloBase);
  const ho = median(helloOurs);
  rows.unshift({
    name: `hello.py np 4, POST → SUCCEEDED + 4 lines (median of ${sizes.helloRuns})`,
    base: `${fmtS(hb)} (mpirun)`,
    ours: fmtS(ho),
    ratio: `${(ho / hb).toFixed(2)}x`,
    target: '< mpirun',
    met: ho < hb,
  });
  notes.push(`hello runs (s): mpirun ${helloBase.map((s) => s.toFixed(3)).join(', ')}; mpiaas ${helloOurs.map((s) => s.toFixed(3)).join(', ')}`);

  // 3. Tiny jobs through one worker.
  const n = sizes.tinyJobs;
  const tinyStarted = process.hrtime.bigint();
  const ids = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        next++;
        ids.push((await api('POST', '/jobs', { script: 'pass\n', np: 1 })).id);
      }
    }),
  );
  const submitted = seconds(tinyStarted);
  for (;;) {
    const { rows: counts } = await db.query('SELECT status::text, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status', [ids]);
    const by = Object.fromEntries(counts.map((r) => [r.status, r.n]));
    if ((by.SUCCEEDED ?? 0) === n) break;
    const bad = counts.filter((r) => !['QUEUED', 'RUNNING', 'SUCCEEDED'].includes(r.status));
    if (bad.length > 0) throw new Error(`tiny jobs ended badly: ${JSON.stringify(by)}\n${worker.output}`);
    if (seconds(tinyStarted) > 600) throw new Error(`tiny jobs not done after 600 s: ${JSON.stringify(by)}`);
    await delay(20);
  }
  const tinySeconds = seconds(tinyStarted);
  const tinyRate = n / tinySeconds;
  // Where a job's time goes, from the timestamps the service stores: queued → claimed
  // (jobs.started_at) → rank exited (job_ranks.finished_at) → final status stored.
  const { rows: [span] } = await db.query(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.started_at - j.created_at)) AS wait_p50,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - j.started_at)) AS run_p50,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - j.started_at)) AS rank_p50,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - r.finished_at)) AS after_p50
       FROM jobs j JOIN job_ranks r ON r.job_id = j.id AND r.rank = 0 WHERE j.id = ANY($1::uuid[])`,
    [ids],
  );
  const passStarted = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(python, ['-c', 'pass']);
  const passRate = n / seconds(passStarted);
  writeFileSync(path.join(scratch, 'pass.py'), 'pass\n');
  const mpirunStarted = process.hrtime.bigint();
  for (let i = 0; i < sizes.mpirunTiny; i++) run('mpirun', ['-np', '1', python, path.join(scratch, 'pass.py')], mpiEnv);
  const mpirunRate = sizes.mpirunTiny / seconds(mpirunStarted);
  rows.push({
    name: `tiny jobs (\`pass\`, np 1) by 1 worker, ${n} jobs`,
    base: `${fmtRate(passRate, '/s')} (python3 -c pass, sequential); ${fmtRate(mpirunRate, '/s')} (mpirun -np 1, ${sizes.mpirunTiny} runs)`,
    ours: fmtRate(tinyRate, 'jobs/s'),
    ratio: `${(tinyRate / passRate).toFixed(2)}x python; ${(tinyRate / mpirunRate).toFixed(1)}x mpirun`,
    target: '≥ 50 jobs/s',
    met: tinyRate >= 50,
  });
  notes.push(
    `tiny jobs: all ${n} POSTed in ${submitted.toFixed(2)} s; all SUCCEEDED after ${tinySeconds.toFixed(2)} s; ` +
      `per job (stored timestamps, medians): queued→claimed ${ms(span.wait_p50)}, claimed→final ${ms(span.run_p50)} ` +
      `(claimed→rank exited ${ms(span.rank_p50)}, rank exited→final status stored ${ms(span.after_p50)}); worker SLOTS default (2 × CPUs)`,
  );

  // 4. 1M log lines (4 ranks × 250k lines of 40 bytes), with the per-rank cap raised.
  await stopProcess(worker);
  worker = startProcess('worker', WORKER_MAIN, stackEnv({ WORKER_ID: `bench-${id}-logs`, LOG_CAP_BYTES }));
  await waitFor('worker (LOG_CAP_BYTES raised)', workerSeen, worker);
  const lineScript = [
    'import os, sys',
    "if 'BENCH_RANK' in os.environ:",
    "    rank = int(os.environ['BENCH_RANK'])",
    'else:',
    '    from mpi4py import MPI',
    '    rank = MPI.COMM_WORLD.Get_rank()',
    'for i in range(int(sys.argv[1])):',
    "    print(f'rank {rank} line {i:09d} xxxxxxxxxxxxxxxxx')", // 40 bytes with the newline
    '',
  ].join('\n');
  const lines = sizes.linesPerRank;
  const totalLines = 4 * lines;
  const totalBytes = totalLines * 40;
  const logsStarted = process.hrtime.bigint();
  const logJob = await api('POST', '/jobs', { script: lineScript, np: 4, args: [String(lines)], timeoutSeconds: 600 });
  const logFinal = await pollFinal(logJob.id, 50, 600_000);
  const logSeconds = seconds(logsStarted);
  if (logFinal.status !== 'SUCCEEDED') throw new Error(`log job ${logFinal.status}: ${logFinal.reason}\n${worker.output}`);
  const { rows: stored } = await db.query(
    `SELECT rank, sum(octet_length(text))::bigint AS bytes,
            sum(length(text) - length(replace(text, E'\\n', '')))::bigint AS lines, count(*)::int AS chunks
       FROM log_chunks WHERE job_id = $1 AND stream = 'STDOUT' GROUP BY rank ORDER BY rank`,
    [logJob.id],
  );
  const storedBytes = stored.reduce((sum, r) => sum + Number(r.bytes), 0);
  const storedLineCount = stored.reduce((sum, r) => sum + Number(r.lines), 0);
  const rankBytes = logFinal.ranks.reduce((sum, r) => sum + r.stdoutBytes, 0);
  if (storedBytes !== totalBytes || storedLineCount !== totalLines || rankBytes !== totalBytes || logFinal.ranks.some((r) => r.truncated)) {
    throw new Error(`log job stored ${storedLineCount} lines / ${storedBytes} bytes (ranks say ${rankBytes}), expected ${totalLines} / ${totalBytes}`);
  }
  const workerRun = (Date.parse(logFinal.finishedAt) - Date.parse(logFinal.startedAt)) / 1000;
  const scriptPath = path.join(scratch, 'lines.py');
  writeFileSync(scriptPath, lineScript);
  const toFile = async (extraEnv) => {
    const fds = [0, 1, 2, 3].map((rank) => openSync(path.join(scratch, `out${rank}.txt`), 'w'));
    let wall;
    try {
      wall = await runParallel(4, (rank) => ({
        command: python,
        args: [scriptPath, String(lines)],
        env: { ...process.env, BENCH_RANK: String(rank), ...extraEnv },
        stdout: fds[rank],
      }));
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
    const written = [0, 1, 2, 3].reduce((sum, rank) => sum + statSync(path.join(scratch, `out${rank}.txt`)).size, 0);
    if (written !== totalBytes) throw new Error(`file baseline wrote ${written} bytes, expected ${totalBytes}`);
    return wall;
  };
  const fileRuns = [];
  for (let i = 0; i < 3; i++) fileRuns.push(await toFile({}));
  const fileSeconds = median(fileRuns);
  const fileUnbufferedSeconds = await toFile({ PYTHONUNBUFFERED: '1' });
  const ranksExited = Math.max(...logFinal.ranks.map((r) => Date.parse(r.finishedAt))) - Date.parse(logFinal.startedAt);
  const storedAfter = Date.parse(logFinal.finishedAt) - Math.max(...logFinal.ranks.map((r) => Date.parse(r.finishedAt)));
  const mb = totalBytes / 1e6;
  const ourRate = totalLines / logSeconds;
  const fileRate = totalLines / fileSeconds;
  rows.push({
    name: `${(totalLines / 1e6).toFixed(2)}M log lines (4 ranks × ${lines}, 40 B) stored, POST → SUCCEEDED`,
    base: `${fmtS(fileSeconds)}: ${fmtRate(fileRate / 1e3, 'k lines/s')}, ${fmtRate(mb / fileSeconds, 'MB/s')} (4 × python3 > file)`,
    ours: `${fmtS(logSeconds)}: ${fmtRate(ourRate / 1e3, 'k lines/s')}, ${fmtRate(mb / logSeconds, 'MB/s')}`,
    ratio: `${(ourRate / fileRate).toFixed(2)}x`,
    target: '≥ 0.5x file rate',
    met: ourRate >= fileRate / 2,
  });
  notes.push(
    `log lines: ${storedLineCount} lines / ${storedBytes} bytes stored in ${stored.reduce((s, r) => s + r.chunks, 0)} log_chunks rows ` +
      `(= JobRank stdoutBytes ${rankBytes}, none truncated); worker claimed→final ${workerRun.toFixed(2)} s, of which ` +
      `claimed→last rank exited ${(ranksExited / 1000).toFixed(2)} s and last rank exited→final (rest of the logs stored) ${(storedAfter / 1000).toFixed(2)} s; ` +
      `file baseline runs ${fileRuns.map((x) => x.toFixed(2)).join(', ')} s (median used); with PYTHONUNBUFFERED=1 (as ranks run): ${fmtS(fileUnbufferedSeconds)} = ${fmtRate(totalLines / fileUnbufferedSeconds / 1e3, 'k lines/s')}`,
  );
} catch (error) {
  if (interrupted) await cleanup().finally(() => process.exit(130)); // what failed was the cleanup's doing
  console.error(error instanceof Error ? error.stack : error);
  for (const proc of children) console.error(`--- ${proc.name}\n${proc.output}`);
  process.exitCode = 1;
} finally {
  await cleanup().catch((error) => {
    console.error(`cleanup failed: ${error.message}`);
    process.exitCode = 1;
  });
}

const loadAfter = os.loadavg();
const la = (l) => l.map((x) => x.toFixed(2)).join(' / ');
console.log(`\nMachine: ${os.cpus().length} CPUs; load average (1/5/15 min) before ${la(loadBefore)}, after ${la(loadAfter)}${quick ? ' (--quick sizes)' : ''}\n`);
console.log('| benchmark | baseline (same run) | mpiaas | ratio | target | met |');
console.log('|---|---:|---:|---:|---|:-:|');
for (const r of rows) console.log(`| ${r.name} | ${r.base} | ${r.ours} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'no'} |`);
if (notes.length > 0) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
