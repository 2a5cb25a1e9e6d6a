// Benchmarks the service end to end (api + worker, as deployed) against baselines measured
// in the same run, on a private stack: its own Postgres database, BullMQ prefix, rank-key
// prefix and work directory, all removed at the end (also on failure or Ctrl-C).
//   1. hello.py at np 4, POST /jobs → SUCCEEDED (4 lines stored)  vs  mpirun -np 4
//   2. POST /jobs throughput and latency under load, no worker     vs  GET /healthz  (alone: bench/post-jobs.mjs)
//   3. tiny jobs (`pass`, np 1) completed per second by one worker  vs  python3 -c pass, mpirun -np 1
//   4. 1M log lines from 4 ranks stored in Postgres                 vs  the same 4 processes > file
// Usage: npm run bench:service [-- --quick] [-- --profile=DIR]     (prints a Markdown table)
//   --profile=DIR: the api and worker processes run with --cpu-prof, profiles written to DIR
//   (open them in Chrome DevTools or speedscope).
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { API_MAIN, MIGRATE, WORKER_MAIN, fmtS, machineLine, median, mpiEnv, python, redisUrl, requireFiles, root, run, seconds } from './lib/common.mjs';
import { measurePostJobs } from './lib/post-jobs-load.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';

const quick = process.argv.includes('--quick');
const profileDir = process.argv.find((arg) => arg.startsWith('--profile='))?.slice('--profile='.length);
const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];

const sizes = quick
  ? { helloRuns: 3, loadSeconds: 3, warmSeconds: 1, tinyJobs: 30, mpirunTiny: 5, linesPerRank: 25_000 }
  : { helloRuns: 7, loadSeconds: 10, warmSeconds: 2, tinyJobs: 200, mpirunTiny: 20, linesPerRank: 250_000 };
const CONNECTIONS = 16;
const LOG_CAP_BYTES = String(64 * 1024 ** 2);

requireFiles(['/usr/bin/mpirun', API_MAIN, WORKER_MAIN, MIGRATE]);

const stack = createPrivateStack({ label: 'svc', nodeArgs });
const { api, pollFinal } = stack;
const { queuePrefix, scratch } = stack;

// ---------------------------------------------------------------- helpers

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

// ---------------------------------------------------------------- the benchmarks

const loadBefore = os.loadavg();
const rows = [];
const notes = [];
const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
const fmtRate = (r, unit) => `${r >= 100 ? r.toFixed(0) : r.toFixed(1)} ${unit}`;

await stack.guard(async () => {
  await stack.open();
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
  await stack.stopProcess(worker);
  worker = stack.startWorker('worker', { WORKER_ID: `bench-${stack.id}-logs`, LOG_CAP_BYTES });
  await stack.waitFor('worker (LOG_CAP_BYTES raised)', stack.workerSeen, worker);
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
});

console.log(`\n${machineLine(loadBefore, quick)}\n`);
console.log('| benchmark | baseline (same run) | mpiaas | ratio | target | met |');
console.log('|---|---:|---:|---:|---|:-:|');
for (const r of rows) console.log(`| ${r.name} | ${r.base} | ${r.ours} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'no'} |`);
if (notes.length > 0) console.log(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
