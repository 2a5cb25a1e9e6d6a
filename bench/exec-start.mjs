// `mpiaas exec` start to finish on hello.py (and examples/pi.py, which imports numpy), ranks
// forked from one interpreter (MPIAAS_FORK_RANKS=1; by default from 4 ranks on:
// packages/runtime/forker) against an interpreter of their own each (MPIAAS_FORK_RANKS=0),
// alternating run by run, beside `mpirun` at the same np; medians.
// Wall time and the CPU of the whole command (its own and its children's, as getrusage counts
// them once they are waited for).
// The command timed is the one users type: the `mpiaas` on the PATH that scripts/setup.sh
// installed for this checkout (it starts exec's Node without NODE_EXTRA_CA_CERTS); without
// one, `node apps/cli/dist/main.js`.
// Usage: node bench/exec-start.mjs [--quick]     (prints a Markdown table)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI_MAIN as cli, machineLine, median, mpiaasCommand, mpiEnv, python, requireFiles, root } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 11;
const NPS = quick ? [1, 4] : [1, 2, 3, 4, 8];
requireFiles([cli]);
const [execCommand, execArgs] = mpiaasCommand();

/** Wall and CPU seconds of one run (CPU: the children of this process, waited for). */
function timed(command, args, env) {
  const cpuBefore = childCpuSeconds();
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { wall, cpu: childCpuSeconds() - cpuBefore };
}

/** user + system seconds of this process's children that were waited for (/proc/self/stat cutime + cstime). */
function childCpuSeconds() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  // after the ") ": field 3 of stat(5) is index 0, so cutime (16) and cstime (17) are 13 and 14
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

const loadBefore = os.loadavg();
const rows = [];
// hello.py at every np; examples/pi.py (numpy, which the forker then imports once) at 2 and 4
const RUNS = [...NPS.map((np) => ['examples/hello.py', np]), ...(quick ? [] : [2, 4]).map((np) => ['examples/pi.py', np])];
for (const [script, np] of RUNS) {
  const samples = { mpirun: [], forked: [], fresh: [] };
  const commands = {
    mpirun: ['mpirun', ['-np', String(np), python, script], mpiEnv],
    forked: [execCommand, [...execArgs, 'exec', '-n', String(np), '--python', python, script], { ...process.env, MPIAAS_FORK_RANKS: '1' }],
    fresh: [execCommand, [...execArgs, 'exec', '-n', String(np), '--python', python, script], { ...process.env, MPIAAS_FORK_RANKS: '0' }],
  };
  for (const name of Object.keys(commands)) timed(...commands[name]); // warm the page cache
  for (let i = 0; i < rounds; i++) for (const name of Object.keys(commands)) samples[name].push(timed(...commands[name]));
  rows.push({ script: path.basename(script), np, ...Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, { wall: median(s.map((x) => x.wall)), cpu: median(s.map((x) => x.cpu)) }])) });
}
const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
console.log(machineLine(loadBefore, quick));
console.log(`exec: \`${[execCommand, ...execArgs].join(' ')} exec\`; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS === undefined ? 'unset' : 'set'}`);
console.log(`Start to finish, medians of ${rounds} alternating runs; CPU: the command and everything it started\n`);
console.log('| script | np | mpirun | exec, an interpreter per rank | exec, ranks forked | forked / per rank | forked / mpirun | CPU: per rank → forked |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const { script, np, mpirun, fresh, forked } of rows) {
  console.log(`| ${script} | ${np} | ${ms(mpirun.wall)} | ${ms(fresh.wall)} | ${ms(forked.wall)} | ${(forked.wall / fresh.wall).toFixed(2)}x | ${(forked.wall / mpirun.wall).toFixed(2)}x | ${ms(fresh.cpu)} → ${ms(forked.cpu)} |`);
}
console.log('\nForked: MPIAAS_FORK_RANKS=1 (at every np); by default exec forks from 4 ranks on (FORK_FROM_RANKS).');
