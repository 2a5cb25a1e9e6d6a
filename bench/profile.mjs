// What the always-on MPI profile costs on the micro-benchmarks, baseline and figure from the
// same run: bench/profile_ab.py under `mpiaas exec` times each operation in blocks with the
// shim's timers out (baseline) and in, alternating inside one job (the load of a shared
// machine drifts over both alike; separate runs differ by far more than 5% here). Target:
// < 5% on every line, else the profile would have to be opt-in per job.
// Usage: npm run bench:profile [-- --quick]     (prints a Markdown table)
import os from 'node:os';
import { CLI_MAIN as cli, fmtMicros as fmt, python, requireFiles, run } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
const scale = quick ? '0.2' : '1';
requireFiles([cli]);

const abRun = (np) => {
  const env = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:profile:${process.pid}:` };
  const { stdout } = run(process.execPath, [cli, 'exec', '-n', String(np), '--python', python, 'bench/profile_ab.py', scale], env);
  return JSON.parse(stdout.trim().split('\n').pop());
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
