// How the cost of a job grows with its size: hello.py end to end at np 1, 8, 32, 64 and 128
// under mpirun (Open MPI 4.1 + Debian's mpi4py, oversubscribed) and under `mpiaas exec` on
// one agent and spread over 4 agents (each with its own Redis connections, as 4 workers).
// Prints the median wall time of each and the cost per added rank (least-squares slope).
// Usage: npm run bench:scaling [-- --quick]
import os from 'node:os';
import { machineLine, median, mpiaasCommand, mpiEnv, python, run } from './lib/common.mjs';

/** `mpiaas` as users type it (the setup's command), for the rows that time whole commands. */
const [mpiaas, mpiaasArgs] = mpiaasCommand();

const quick = process.argv.includes('--quick');
const sizes = quick ? [1, 8, 32] : [1, 8, 32, 64, 128];
const runs = quick ? 3 : 5;
const loadBefore = os.loadavg();
const mpiaasEnv = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:${process.pid}:` };

const launchers = [
  { name: 'mpirun', args: (np) => ['mpirun', ['--oversubscribe', '-np', String(np), python, 'examples/hello.py'], mpiEnv] },
  { name: 'mpiaas exec, 1 agent', args: (np) => [mpiaas, [...mpiaasArgs, 'exec', '-n', String(np), '--python', python, 'examples/hello.py'], mpiaasEnv] },
  { name: 'mpiaas exec, 4 agents', args: (np) => [mpiaas, [...mpiaasArgs, 'exec', '-n', String(np), '--agents', '4', '--python', python, 'examples/hello.py'], mpiaasEnv] },
];

const table = new Map(launchers.map(({ name }) => [name, []]));
for (const np of sizes) {
  const samples = new Map(launchers.map(({ name }) => [name, []]));
  // Interleaved, so the machine's load drifts over every launcher alike.
  for (let i = 0; i < runs; i++) {
    for (const launcher of launchers) {
      const [command, args, env] = launcher.args(np);
      const { stdout, seconds } = run(command, args, env);
      // Counted, not split into lines: mpirun may splice two ranks' lines into one.
      const hellos = stdout.match(/Hello!/g)?.length ?? 0;
      if (hellos !== np) throw new Error(`${launcher.name} at np ${np} printed ${hellos} hellos`);
      samples.get(launcher.name).push(seconds);
    }
  }
  for (const { name } of launchers) table.get(name).push(median(samples.get(name)));
}

/** Least-squares slope of seconds over np: what one more rank costs. */
function slope(ys) {
  const n = sizes.length;
  const mx = sizes.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  sizes.forEach((x, i) => {
    num += (x - mx) * (ys[i] - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

console.log(machineLine(loadBefore, quick));
console.log(`hello.py, POST-free: launch to last rank done; median of ${runs} interleaved runs\n`);
console.log(`| launcher | ${sizes.map((np) => `np ${np}`).join(' | ')} | per added rank |`);
console.log(`|---|${sizes.map(() => '---:').join('|')}|---:|`);
for (const [name, ys] of table) {
  console.log(`| ${name} | ${ys.map((s) => `${s.toFixed(2)} s`).join(' | ')} | ${(slope(ys) * 1000).toFixed(1)} ms |`);
}
const base = table.get('mpirun');
for (const name of [...table.keys()].slice(1)) {
  console.log(`| ${name} / mpirun | ${table.get(name).map((s, i) => `${(s / base[i]).toFixed(2)}x`).join(' | ')} | |`);
}
