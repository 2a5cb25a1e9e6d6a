// What running ranks under SCHED_BATCH buys (mpi4py/_scheduling.py): bench/rank_cpu.py under
// `mpiaas exec` with the policy off (MPI4PY_SCHED_BATCH=0, the baseline) and on, alternating
// run by run so that the machine's drift falls on both alike; medians of the wall time per
// call (slowest rank) and of the ranks' CPU per call.
// Usage: npm run bench:sched [-- ROUNDS [NP...]]     (prints a Markdown table)
import { CLI_MAIN, fmtMicros as fmt, median, python, requireFiles, run } from './lib/common.mjs';

const [rounds = '5', ...nps] = process.argv.slice(2);
const sizes = nps.length ? nps : ['2', '4', '8'];
requireFiles([CLI_MAIN]);

/** {operation: {wall, cpu}} in µs from one run of rank_cpu.py's lines. */
function parse(stdout) {
  const figures = {};
  for (const line of stdout.trim().split('\n')) {
    const match = /^(\S+)\s+wall\s+([\d.]+) µs\s+CPU per rank ([\d. ]+) µs/.exec(line);
    if (!match) continue;
    const cpu = match[3].trim().split(/\s+/).map(Number);
    figures[match[1]] = { wall: Number(match[2]), cpu: cpu.reduce((a, b) => a + b, 0) / cpu.length };
  }
  return figures;
}

console.log('| operation | np | default policy | SCHED_BATCH | ratio | rank CPU, default → batch |\n|---|---:|---:|---:|---:|---:|');
for (const np of sizes) {
  const samples = { default: {}, batch: {} };
  for (let i = 0; i < Number(rounds); i++) {
    for (const [policy, value] of [['default', '0'], ['batch', '1']]) {
      const env = { ...process.env, MPI4PY_SCHED_BATCH: value, MPIAAS_REDIS_PREFIX: `bench:sched:${process.pid}:` };
      const { stdout } = run(process.execPath, [CLI_MAIN, 'exec', '-n', np, '--python', python, 'bench/rank_cpu.py', '3000'], env);
      for (const [op, figure] of Object.entries(parse(stdout))) (samples[policy][op] ??= []).push(figure);
    }
  }
  for (const op of Object.keys(samples.batch)) {
    const [before, after] = [samples.default[op], samples.batch[op]];
    const wall = (list) => median(list.map((figure) => figure.wall));
    const cpu = (list) => median(list.map((figure) => figure.cpu));
    console.log(`| ${op} | ${np} | ${fmt(wall(before))} | ${fmt(wall(after))} | ${(wall(after) / wall(before)).toFixed(2)}x | ${fmt(cpu(before))} → ${fmt(cpu(after))} |`);
  }
}
