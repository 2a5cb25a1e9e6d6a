// What the always-on MPI profile costs on the micro-benchmarks, baseline and figure from the
// same run, two ways:
// - inside one job: bench/profile_ab.py under `mpiaas exec` times each operation in blocks
//   with the shim's timers out (baseline) and in, alternating (the load of a shared machine
//   drifts over both alike);
// - whole jobs, as a user gets them: bench/mpi_micro.py with MPIAAS_PROFILE=0 (baseline) and
//   =1, alternating run by run (single runs differ by ±30% here, so many pairs, medians).
// (`mpiaas exec` passes MPIAAS_PROFILE on to its ranks since 2026-12-06; before, the shell's
// was withheld from them with every MPIAAS_ variable.)
// Target: < 5%, else the profile would have to be opt-in per job.
// Usage: npm run bench:profile [-- --quick]     (prints a Markdown table)
import os from 'node:os';
import { CLI_MAIN as cli, fmtMicros as fmt, lastJsonLine, median, python, requireFiles, run } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
const scale = quick ? '0.2' : '1';
const pairs = quick ? 2 : 8;
requireFiles([cli]);
const env = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:profile:${process.pid}:` };

const abRun = (np) => {
  const { stdout } = run(process.execPath, [cli, 'exec', '-n', String(np), '--python', python, 'bench/profile_ab.py', scale], env);
  return lastJsonLine(stdout);
};

/** Per-call cost of the timer itself: a profiled no-op against the bare one, in one process. */
function timerCostNs() {
  const code = `
import sys, time
sys.path.insert(0, 'packages/runtime/python')
from mpi4py import _profile
def noop(*a): return None
timed = _profile.timed('noop', noop)
n = 200000
best = [1e9, 1e9]
for _ in range(5):
    for i, f in enumerate((noop, timed)):
        t = time.perf_counter_ns()
        for _ in range(n): f(1, 2)
        best[i] = min(best[i], (time.perf_counter_ns() - t) / n)
print(best[1] - best[0])
`;
  return Number(run(python, ['-c', code]).stdout.trim());
}

const pct = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(', ');
const loadBefore = load();
const rows = [];
for (const np of [2, 4]) {
  const results = abRun(np);
  for (const [name, r] of Object.entries(results)) rows.push({ name, np, ...r });
}
const timer = timerCostNs();

/** mpi_micro.py as a job runs it, with the profile on or off: µs per operation. */
const microRun = (np, profile) => {
  const { stdout } = run(process.execPath, [cli, 'exec', '-n', String(np), '--python', python, 'bench/mpi_micro.py', quick ? '0.2' : '0.5'], {
    ...env,
    MPIAAS_PROFILE: profile ? '1' : '0',
  });
  return lastJsonLine(stdout);
};
const whole = [];
for (const np of [2, 4]) {
  const off = [];
  const on = [];
  for (let i = 0; i < pairs; i++) {
    for (const profile of i % 2 ? [true, false] : [false, true]) (profile ? on : off).push(microRun(np, profile));
  }
  for (const name of Object.keys(off[0])) {
    const offs = off.map((r) => r[name]);
    const ons = on.map((r) => r[name]);
    whole.push({ name, np, off: median(offs), on: median(ons), pairRatio: median(ons.map((v, i) => v / offs[i])) });
  }
}

console.log(`load average before: ${loadBefore}; after: ${load()}; blocks of 10 calls (1 for 8 MiB), profile off and on alternating (bench/profile_ab.py, scale ${scale})`);
console.log(`cost of the timer around one call (profiled no-op minus bare no-op, best of 5): ${timer.toFixed(0)} ns\n`);
console.log('| operation | np | blocks per variant | profile off (baseline) | profile on | overhead | median of block pairs | < 5% |');
console.log('|---|---:|---:|---:|---:|---:|---:|:-:|');
for (const row of rows) {
  const overhead = (row.ratio - 1) * 100;
  console.log(
    `| ${row.name} | ${row.np} | ${row.blocks} | ${fmt(row.off)} | ${fmt(row.on)} | ${pct(overhead)} | ${pct((row.medianRatio - 1) * 100)} | ${overhead < 5 ? 'yes' : 'no'} |`,
  );
}
const geo = Math.exp(rows.reduce((sum, row) => sum + Math.log(row.ratio), 0) / rows.length);
console.log(`| all (geometric mean) | | | | | ${pct((geo - 1) * 100)} | | ${geo < 1.05 ? 'yes' : 'no'} |`);

console.log(`\nWhole jobs: bench/mpi_micro.py with MPIAAS_PROFILE=0 and =1 alternating, ${pairs} pairs per np, medians`);
console.log('| operation | np | profile off (baseline) | profile on | overhead | median of pair ratios |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of whole) {
  console.log(`| ${row.name} | ${row.np} | ${fmt(row.off)} | ${fmt(row.on)} | ${pct((row.on / row.off - 1) * 100)} | ${pct((row.pairRatio - 1) * 100)} |`);
}
const wholeGeo = Math.exp(whole.reduce((sum, row) => sum + Math.log(row.on / row.off), 0) / whole.length);
console.log(`| all (geometric mean) | | | | ${pct((wholeGeo - 1) * 100)} | |`);
