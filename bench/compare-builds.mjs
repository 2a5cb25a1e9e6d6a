// Two builds of mpiaas, call by call: bench/mpi_micro.py under `mpiaas exec` of another
// checkout (built: npm run build there) and of this one, alternating run by run so the
// machine's load drifts over both alike; medians per operation.
// Usage: node bench/compare-builds.mjs OTHER_CHECKOUT [np] [agents] [rounds] [scale]
// (scale: of mpi_micro.py's call counts, 0.3 by default; 1 times a bcast of 8 MiB 30 times)
import path from 'node:path';
import { CLI_MAIN, fmtMicros as fmt, lastJsonLine, median, python, run } from './lib/common.mjs';

const [other, np = '2', agents = '1', rounds = '3', scale = '0.3'] = process.argv.slice(2);
if (!other) {
  console.error('usage: node bench/compare-builds.mjs OTHER_CHECKOUT [np] [agents] [rounds] [scale]');
  process.exit(2);
}
const builds = { before: path.resolve(other, 'apps/cli/dist/main.js'), after: CLI_MAIN };
const env = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:${process.pid}:` };
const samples = { before: {}, after: {} };
for (let i = 0; i < Number(rounds); i++) {
  for (const [name, cli] of Object.entries(builds)) {
    const { stdout } = run(process.execPath, [cli, 'exec', '-n', np, '--agents', agents, '--python', python, 'bench/mpi_micro.py', scale], env);
    for (const [op, micros] of Object.entries(lastJsonLine(stdout))) (samples[name][op] ??= []).push(micros);
  }
}
console.log(`| operation | np | agents | ${other} | this checkout | ratio |\n|---|---:|---:|---:|---:|---:|`);
for (const op of Object.keys(samples.after)) {
  const before = samples.before[op] ? median(samples.before[op]) : undefined;
  const after = median(samples.after[op]);
  console.log(`| ${op} | ${np} | ${agents} | ${before === undefined ? '–' : fmt(before)} | ${fmt(after)} | ${before === undefined ? '' : `${(after / before).toFixed(2)}x`} |`);
}
