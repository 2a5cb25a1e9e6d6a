// Benchmarks the service end to end (api + worker, as deployed) against baselines measured
// in the same run, on a private stack: its own Postgres database, BullMQ prefix, rank-key
// prefix and work directory, all removed at the end (also on failure or Ctrl-C).
//   1. hello.py at np 4, POST /jobs → SUCCEEDED (4 lines stored)  vs  mpirun -np 4
//   2. POST /jobs throughput and latency under load, no worker     vs  GET /healthz  (alone: bench/post-jobs.mjs)
//   3. tiny jobs (`pass`, np 1) completed per second by one worker  vs  python3 -c pass, mpirun -np 1  (alone: bench/tiny-jobs.mjs)
//   4. 1M log lines from 4 ranks stored in Postgres                 vs  the same 4 processes > file  (alone: bench/log-lines.mjs)
// Usage: npm run bench:service [-- --quick] [-- --profile=DIR]     (prints a Markdown table)
//   --profile=DIR: the api and worker processes run with --cpu-prof, profiles written to DIR
//   (open them in Chrome DevTools or speedscope).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { API_MAIN, MIGRATE, WORKER_MAIN, fmtS, machineLine, median, mpiEnv, python, redisUrl, requireFiles, root, run } from './lib/common.mjs';
import { LOG_CAP_BYTES, measureLogLines } from './lib/log-lines.mjs';
import { measurePostJobs } from './lib/post-jobs-load.mjs';
import { measureTinyJobs } from './lib/tiny-jobs.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';

const quick = process.argv.includes('--quick');
const profileDir = process.argv.find((arg) => arg.startsWith('--profile='))?.slice('--profile='.length);
const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];

const sizes = quick
  ? { helloRuns: 3, loadSeconds: 3, warmSeconds: 1, tinyJobs: 30, mpirunTiny: 5, linesPerRank: 25_000 }
  : { helloRuns: 7, loadSeconds: 10, warmSeconds: 2, tinyJobs: 200, mpirunTiny: 20, linesPerRank: 250_000 };
const CONNECTIONS = 16;

requireFiles(['/usr/bin/mpirun', API_MAIN, WORKER_MAIN, MIGRATE]);

const stack = createPrivateStack({ label: 'svc', nodeArgs });
const { queuePrefix } = stack;

// ---------------------------------------------------------------- the benchmarks

const loadBefore = os.loadavg();
const rows = [];
const notes = [];

await stack.guard(async () => {
  const apiProc = await stack.open();
  const { db } = stack;

  // 2. POST /jobs under load, nobody consuming: the jobs just queue (also alone: bench/post-jobs.mjs).
  const post = await measurePostJobs(stack, { connections: CONNECTIONS, loadSeconds: sizes.loadSeconds, warmSeconds: sizes.warmSeconds });
  rows.push(...post.rows);
  notes.push(...post.notes);
  const queue = new Queue('mpi-jobs', { connection: { url: redisUrl }, prefix: queuePrefix });
  // Nothing of the load may reach the worker: forget the queued runs and their rows.
  await queue.obliterate({ force: true });
  await queue.close();
  await db.query('TRUNCATE jobs CASCADE');

  // One worker with the default config (SLOTS etc.).
  let worker = stack.startWorker('worker', { WORKER_ID: `bench-${stack.id}` });
  await stack.waitFor('worker', stack.workerSeen, worker);

  // 1. hello at np 4.
  const hello = readFileSync(path.join(root, 'examples/hello.py'), 'utf8');
  const helloBase = [];
  const helloOurs = [];
  const helloOnce = async () =>
    (await stack.timedJob({ script: hello, np: 4 }, { name: 'hello', lines: 4, prefix: "Hello! I'm rank" })).seconds;
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

  // 3. Tiny jobs through one worker (also alone: bench/tiny-jobs.mjs).
  const tiny = await measureTinyJobs(stack, { jobs: sizes.tinyJobs, mpirunRuns: sizes.mpirunTiny, worker, apiPid: apiProc.child.pid });
  rows.push(tiny.row);
  notes.push(`${tiny.note}; worker SLOTS default (2 × CPUs)`);

  // 4. 1M log lines (4 ranks × 250k lines of 40 bytes), with the per-rank cap raised (also alone: bench/log-lines.mjs).
  await stack.stopProcess(worker);
  worker = stack.startWorker('worker', { WORKER_ID: `bench-${stack.id}-logs`, LOG_CAP_BYTES });
  await stack.waitFor('worker (LOG_CAP_BYTES raised)', stack.workerSeen, worker);
  const logs = await measureLogLines(stack, { linesPerRank: sizes.linesPerRank, worker });
  rows.push(logs.row);
  notes.push(logs.note);
});

console.log(`\n${machineLine(loadBefore, quick)}\n`);
console.log('| benchmark | baseline (same run) | mpiaas | ratio | target | met |');
console.log('|---|---:|---:|---:|---|:-:|');
for (const r of rows) console.log(`| ${r.name} | ${r.base} | ${r.ours} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'no'} |`);
if (notes.length > 0) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
