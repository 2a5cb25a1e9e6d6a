// What deadlock detection costs: bench/mpi_micro.py under `mpiaas exec` with the watch on and
// off (MPIAAS_DEADLOCK_DETECTION=0), alternating runs in one process so both see the same
// machine. The watch counts every rank envelope and snapshots the ranks once a second.
// Usage: npm run bench:deadlock [-- --quick]     (prints a Markdown table)
import { CLI_MAIN as cli, fmtMicros as fmt, lastJsonLine, machineLine, median, python, run } from './lib/common.mjs';
import os from 'node:os';

const quick = process.argv.includes('--quick');
const rounds = quick ? 2 : 4;
const scale = quick ? '0.2' : '0.5';

const micro = (np, detect) => {
  const env = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:${process.pid}:`, MPIAAS_DEADLOCK_DETECTION: detect ? '1' : '0' };
  const { stdout } = run(process.execPath, [cli, 'exec', '-n', String(np), '--python', python, 'bench/mpi_micro.py', scale], env);
  return lastJsonLine(stdout);
};

const loadBefore = os.loadavg();
console.log(`| np | op | watch off (baseline) | watch on | on/off |`);
console.log(`|---|---|---|---|---|`);
for (const np of [2, 4]) {
  const samples = { off: [], on: [] };
  for (let i = 0; i < rounds; i++) {
    // Alternate the order so a drift in load does not favour one side.
    for (const detect of i % 2 === 0 ? [false, true] : [true, false]) samples[detect ? 'on' : 'off'].push(micro(np, detect));
  }
  for (const op of Object.keys(samples.off[0])) {
    const off = median(samples.off.map((s) => s[op]));
    const on = median(samples.on.map((s) => s[op]));
    console.log(`| ${np} | ${op} | ${fmt(off)} | ${fmt(on)} | ${(on / off).toFixed(3)} |`);
  }
}
console.log(`\n${machineLine(loadBefore, quick)}`);
