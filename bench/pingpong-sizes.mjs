// Ping-pong by message size, 8 B to 4 MiB (bench/pingpong_sizes.py, as osu_latency): under
// Open MPI + Debian's mpi4py, and under `mpiaas exec` on one agent and on two (as over two
// workers: messages through Redis; above 64 KiB in chunks through the payload connection,
// PROTOCOL.md). Medians of alternating runs, with the machine's state printed beside them.
// Usage: npm run bench:sizes [-- --quick]     (prints a Markdown table)
import os from 'node:os';
import { CLI_MAIN as cli, fmtMicros as fmt, lastJsonLine, machineLine, median, mpiEnv, python, requireFiles, run } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
const rounds = quick ? 1 : 3;
const scale = quick ? '0.2' : '1';
requireFiles(['/usr/bin/mpirun', cli]);
const env = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:${process.pid}:` };
const launchers = {
  'Open MPI': () => run('mpirun', ['-np', '2', python, 'bench/pingpong_sizes.py', scale], mpiEnv),
  'mpiaas, 1 agent': () => run(process.execPath, [cli, 'exec', '-n', '2', '--python', python, 'bench/pingpong_sizes.py', scale], env),
  'mpiaas, 2 agents': () => run(process.execPath, [cli, 'exec', '-n', '2', '--agents', '2', '--python', python, 'bench/pingpong_sizes.py', scale], env),
};

const loadBefore = os.loadavg();
const samples = Object.fromEntries(Object.keys(launchers).map((name) => [name, []]));
for (let i = 0; i < rounds; i++) {
  for (const [name, launch] of Object.entries(launchers)) samples[name].push(lastJsonLine(launch().stdout));
}
const sizes = Object.keys(samples['Open MPI'][0]);
const names = Object.keys(launchers);
const label = (bytes) => (bytes >= 1048576 ? `${bytes / 1048576} MiB` : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`);
console.log(`| message | ${names.map((name) => `${name}: round trip`).join(' | ')} | 2 agents: bandwidth |`);
console.log(`|---:|${names.map(() => '---:').join('|')}|---:|`);
for (const size of sizes) {
  const micros = names.map((name) => median(samples[name].map((sample) => sample[size])));
  const across = micros.at(-1);
  console.log(`| ${label(Number(size))} | ${micros.map(fmt).join(' | ')} | ${((2 * Number(size)) / (across / 1e6) / 1e9).toFixed(3)} GB/s |`);
}
console.log(`\n${machineLine(loadBefore, quick)}`);
