// What spreading a job's ranks over several agents (gang placement: one agent per worker,
// rank traffic between agents through Redis) costs, against baselines measured in the same run.
//   A. Runtime, np 8: bench/mpi_micro.py under `mpirun -np 8` and under
//      `mpiaas exec -n 8 --agents K` for K = 1, 2, 4, 8 (K agents in one process, each with its
//      own Redis connections, as on K workers); the cost each added agent adds, in time and in
//      Redis PING round trips; hello.py wall time: mpirun vs exec with K = 1 and K = 4.
//   B. Service, np 8, on a private stack (its own database, BullMQ prefix, rank-key prefix and
//      work directories, all removed at the end, also on failure or Ctrl-C): hello.py and pi.py
//      from POST /jobs to SUCCEEDED with their output stored, on 1 worker (SLOTS=8) vs on 4
//      workers (SLOTS=2 each; ranks[].worker checked: 2 ranks on each), vs mpirun -np 8.
// Usage: npm run bench:spread [-- --quick]     (prints Markdown tables)
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { SchedulerKeys } from '@mpiaas/contracts';
import { Redis } from 'ioredis';
import {
  API_MAIN,
  CLI_MAIN,
  fmtMicros,
  fmtS,
  killRunning,
  lastJsonLine,
  machineLine,
  median,
  MIGRATE,
  mpiEnv,
  python,
  redisRoundTripMicros,
  redisUrl,
  requireFiles,
  root,
  runAsync,
  WORKER_MAIN,
} from './lib/common.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';

const quick = process.argv.includes('--quick');
const NP = 8;
const AGENT_COUNTS = [1, 2, 4, 8];
const HELLO_AGENT_COUNTS = [1, 4];
// Runtime: `rounds` runs of every launcher (in rotated order, so drifting load spreads over
// all of them), mpi_micro.py at `scale` of its repetitions; the median per operation is shown.
const sizes = quick ? { rounds: 1, scale: '0.2', helloRuns: 3, jobRuns: 3 } : { rounds: 3, scale: '0.5', helloRuns: 7, jobRuns: 7 };

requireFiles(['/usr/bin/mpirun', CLI_MAIN, API_MAIN, WORKER_MAIN, MIGRATE]);

const stack = createPrivateStack({ label: 'spread', onInterrupt: killRunning });
// `mpiaas exec` keys its jobs under the stack's rank prefix: removed with the stack.
const execEnv = { ...process.env, MPIAAS_REDIS_PREFIX: stack.rankPrefix, MPIAAS_REDIS_URL: redisUrl };

const mpirun = (script, ...args) => runAsync('mpirun', ['-np', String(NP), python, script, ...args], mpiEnv);
const exec = (agents, script, ...args) =>
  runAsync(process.execPath, [CLI_MAIN, 'exec', '-n', String(NP), '--agents', String(agents), '--python', python, script, ...args], execEnv);

/**
 * Checks a run printed `prefix` `lines` times (counted, not split into lines: mpirun may put
 * two ranks' lines on one); passes its wall seconds on.
 */
function printed({ stdout, seconds }, what, lines, prefix) {
  const count = stdout.split(prefix).length - 1;
  if (count !== lines) throw new Error(`${what} printed ${count} lines starting with ${JSON.stringify(prefix)}, not ${lines}:\n${stdout}`);
  return seconds;
}

/** Least-squares slope of ys over xs. */
function slope(xs, ys) {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxy = xs.reduce((sum, x, i) => sum + (x - mx) * (ys[i] - my), 0);
  const sxx = xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
  return sxy / sxx;
}

const loadBefore = os.loadavg();
const la = (l) => l.map((x) => x.toFixed(2)).join(' / ');
const secs = (values) => values.map((s) => s.toFixed(3)).join(', ');
const ratio = (ours, base) => `${(ours / base).toFixed(2)}x`;
const signed = (x, fmt) => `${x < 0 ? '-' : '+'}${fmt(Math.abs(x))}`;
const HELLO_PREFIX = "Hello! I'm rank";
const PI_PREFIX = 'pi is approximately';

// ---------------------------------------------------------------- A. the runtime

async function runtimePart() {
  const launchers = [{ name: 'Open MPI', run: () => mpirun('bench/mpi_micro.py', sizes.scale) }].concat(
    AGENT_COUNTS.map((k) => ({ name: `K=${k}`, run: () => exec(k, 'bench/mpi_micro.py', sizes.scale) })),
  );
  // The round trip moves with the machine's load: sampled before the runs and after each one.
  const pings = [await redisRoundTripMicros()];
  const samples = new Map(launchers.map((l) => [l.name, []]));
  for (let round = 0; round < sizes.rounds; round++) {
    for (let i = 0; i < launchers.length; i++) {
      const launcher = launchers[(i + round) % launchers.length];
      const { stdout } = await launcher.run();
      samples.get(launcher.name).push(lastJsonLine(stdout));
      pings.push(await redisRoundTripMicros());
    }
  }
  const rtt = median(pings);

  // hello.py at np 8, interleaved.
  const hello = { mpirun: [], ...Object.fromEntries(HELLO_AGENT_COUNTS.map((k) => [k, []])) };
  await mpirun('examples/hello.py'); // warm-up
  for (let i = 0; i < sizes.helloRuns; i++) {
    hello.mpirun.push(printed(await mpirun('examples/hello.py'), 'mpirun hello', NP, HELLO_PREFIX));
    for (const k of HELLO_AGENT_COUNTS) hello[k].push(printed(await exec(k, 'examples/hello.py'), `exec --agents ${k} hello`, NP, HELLO_PREFIX));
  }

  const out = [];
  out.push(`## A. Runtime at np ${NP}: \`mpirun -np ${NP}\` vs \`mpiaas exec -n ${NP} --agents K\``, '');
  out.push(`load average (1/5/15 min) at the start of part A: ${la(loadBefore)}, at its end: ${la(os.loadavg())}`, '');
  out.push(
    `Redis PING round trip (ioredis, loopback): ${fmtMicros(rtt)} (median of ${pings.length} samples of 5000 pings, ` +
      `one before the runs and one after each: ${fmtMicros(Math.min(...pings))} to ${fmtMicros(Math.max(...pings))})`,
  );
  out.push(
    `bench/mpi_micro.py at scale ${sizes.scale}; each figure the median of ${sizes.rounds} run(s) per launcher ` +
      `(launchers in rotated order each round). Cost per added agent: the least-squares slope of the time over K = ${AGENT_COUNTS.join(', ')}.`,
    '',
  );
  out.push(`| operation | Open MPI | ${AGENT_COUNTS.map((k) => `K=${k}`).join(' | ')} | cost per added agent (LSQ slope) | slope in Redis round trips |`);
  out.push(`|---|---:|${AGENT_COUNTS.map(() => '---:').join('|')}|---:|---:|`);
  for (const op of Object.keys(samples.get('Open MPI')[0])) {
    const at = (name) => median(samples.get(name).map((s) => s[op]));
    const times = AGENT_COUNTS.map((k) => at(`K=${k}`));
    const perAgent = slope(AGENT_COUNTS, times);
    out.push(
      `| ${op} | ${fmtMicros(at('Open MPI'))} | ${times.map(fmtMicros).join(' | ')} | ` +
        `${signed(perAgent, fmtMicros)} | ${signed(perAgent / rtt, (x) => x.toFixed(1))} |`,
    );
  }
  const hm = median(hello.mpirun);
  out.push('', `| hello.py wall time, np ${NP} (median of ${sizes.helloRuns}) | mpirun | ${HELLO_AGENT_COUNTS.map((k) => `exec, K=${k}`).join(' | ')} |`);
  out.push(`|---|---:|${HELLO_AGENT_COUNTS.map(() => '---:').join('|')}|`);
  out.push(`| seconds | ${hm.toFixed(3)} s | ${HELLO_AGENT_COUNTS.map((k) => `${median(hello[k]).toFixed(3)} s (${ratio(median(hello[k]), hm)})`).join(' | ')} |`);
  out.push(
    '',
    `- hello runs (s): mpirun ${secs(hello.mpirun)}; ${HELLO_AGENT_COUNTS.map((k) => `K=${k} ${secs(hello[k])}`).join('; ')}`,
    '',
  );
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------- B. the service

const JOBS = [
  { name: 'hello.py', file: 'examples/hello.py', lines: NP, prefix: HELLO_PREFIX },
  { name: 'pi.py', file: 'examples/pi.py', lines: 1, prefix: PI_PREFIX },
].map((job) => ({ ...job, script: readFileSync(`${root}/${job.file}`, 'utf8') }));

function clusters() {
  const solo = { label: '1 worker × 8 slots', workers: [{ id: `bench-${stack.id}-solo`, env: { SLOTS: '8' } }] };
  const four = {
    label: '4 workers × 2 slots',
    workers: [0, 1, 2, 3].map((i) => ({ id: `bench-${stack.id}-w${i}`, env: { SLOTS: '2', WORK_DIR: stack.extraWorkDir(`w${i}`) } })),
  };
  return [solo, four];
}

/** How a run's ranks were spread: ranks per worker, e.g. "2+2+2+2"; throws unless on exactly the cluster's workers. */
function spreadOf(final, cluster) {
  const per = new Map();
  for (const rank of final.ranks) per.set(rank.worker, (per.get(rank.worker) ?? 0) + 1);
  const ids = cluster.workers.map((w) => w.id);
  if (final.ranks.length !== NP || per.size !== ids.length || ![...per.keys()].every((w) => ids.includes(w))) {
    throw new Error(`job ${final.id} on ${cluster.label} ran its ranks on ${JSON.stringify(Object.fromEntries(per))}`);
  }
  return ids.map((w) => per.get(w)).join('+');
}

/** Where a run's time went, from the stored timestamps: queued→claimed, claimed→last rank exited, → final. */
function phases(final) {
  const t = (iso) => Date.parse(iso) / 1000;
  const lastExit = Math.max(...final.ranks.map((r) => t(r.finishedAt)));
  return [t(final.startedAt) - t(final.createdAt), lastExit - t(final.startedAt), t(final.finishedAt) - lastExit];
}

async function servicePart() {
  const loadAtStart = os.loadavg();
  await stack.open();
  const keys = new SchedulerKeys(stack.queuePrefix);
  const redis = new Redis(redisUrl);
  const results = []; // per cluster: { label, mpirun: {job: []}, ours: {job: []}, spreads: {job: Set}, phases: {job: []} }
  try {
    for (const cluster of clusters()) {
      const procs = cluster.workers.map((w) => stack.startWorker(`worker ${w.id}`, { WORKER_ID: w.id, ...w.env }));
      // Every worker advertising its slots (and the one before gone), then one that consumes.
      await stack.waitFor(
        `${cluster.label}`,
        async () => (await redis.hlen(keys.workers)) === cluster.workers.length && stack.workerSeen(),
        procs,
        60_000,
      );
      const result = { label: cluster.label, mpirun: {}, ours: {}, spreads: {}, phases: {} };
      for (const job of JOBS) {
        for (const field of ['mpirun', 'ours', 'phases']) result[field][job.name] = [];
        result.spreads[job.name] = new Set();
      }
      const once = async (job) => {
        const run = await stack.timedJob({ script: job.script, np: NP }, { name: job.name, lines: job.lines, prefix: job.prefix });
        result.spreads[job.name].add(spreadOf(run.final, cluster));
        return run;
      };
      for (const job of JOBS) {
        await mpirun(job.file); // warm-up
        await once(job);
      }
      for (let i = 0; i < sizes.jobRuns; i++) {
        for (const job of JOBS) {
          result.mpirun[job.name].push(printed(await mpirun(job.file), `mpirun ${job.name}`, job.lines, job.prefix));
          const run = await once(job);
          result.ours[job.name].push(run.seconds);
          result.phases[job.name].push(phases(run.final));
        }
      }
      results.push(result);
      await Promise.all(procs.map((proc) => stack.stopProcess(proc)));
    }
  } finally {
    redis.disconnect();
  }

  const [one, four] = results;
  const out = [];
  out.push(`## B. Service at np ${NP}: 1 worker vs 4 workers vs \`mpirun -np ${NP}\``, '');
  out.push(`load average (1/5/15 min) at the start of part B: ${la(loadAtStart)}, at its end: ${la(os.loadavg())}`, '');
  out.push(`| job, np ${NP}: POST /jobs → SUCCEEDED + output stored (median of ${sizes.jobRuns}) | mpirun -np ${NP} | ${one.label} | ${four.label} | 4 workers vs 1 |`);
  out.push('|---|---:|---:|---:|---:|');
  const notes = [];
  for (const job of JOBS) {
    const base = median([...one.mpirun[job.name], ...four.mpirun[job.name]]);
    const t1 = median(one.ours[job.name]);
    const t4 = median(four.ours[job.name]);
    const diff = t4 - t1;
    out.push(
      `| ${job.name} (${job.lines} line${job.lines > 1 ? 's' : ''}) | ${fmtS(base)} | ${fmtS(t1)} (${ratio(t1, base)}) | ${fmtS(t4)} (${ratio(t4, base)}) | ` +
        `${signed(diff, fmtS)} (${ratio(t4, t1)}) |`,
    );
    notes.push(
      `${job.name}: mpirun median ${fmtS(base)} over both phases (${fmtS(median(one.mpirun[job.name]))} during the 1-worker runs, ` +
        `${fmtS(median(four.mpirun[job.name]))} during the 4-worker runs)`,
    );
    for (const r of results) {
      const [wait, ranks, after] = [0, 1, 2].map((i) => median(r.phases[job.name].map((p) => p[i])));
      notes.push(
        `${job.name} on ${r.label}: ranks per worker ${[...r.spreads[job.name]].join(', ')} in every run (ranks[].worker); ` +
          `stored timestamps, medians: queued→claimed ${fmtS(wait)}, claimed→last rank exited ${fmtS(ranks)}, last rank exited→final ${fmtS(after)}; ` +
          `runs (s) ${secs(r.ours[job.name])}; mpirun ${secs(r.mpirun[job.name])}`,
      );
    }
  }
  console.log(['', ...out, '', ...notes.map((n) => `- ${n}`), ''].join('\n'));
}

await stack.guard(async () => {
  await runtimePart();
  await servicePart();
});
console.log(`${machineLine(loadBefore, quick)}\n`);
