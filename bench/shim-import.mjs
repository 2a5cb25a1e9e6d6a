// What a rank pays to load the shim: `from mpi4py import MPI` in a fresh interpreter, this
// checkout's shim against another checkout's, alternating run by run so the machine's drift
// hits both alike; medians and quartiles. The interpreter is /usr/bin/python3, as the ranks'.
// Usage: node bench/shim-import.mjs OTHER_CHECKOUT [runs]
import path from 'node:path';
import { median, python, root, run } from './lib/common.mjs';

const [other, runs = '100'] = process.argv.slice(2);
if (!other) {
  console.error('usage: node bench/shim-import.mjs OTHER_CHECKOUT [runs]');
  process.exit(2);
}
const shims = { [other]: path.resolve(other, 'packages/runtime/python'), 'this checkout': path.join(root, 'packages/runtime/python') };
// Ranks import the compiled shim (setup compiles it); so must this.
const env = { ...process.env };
delete env.PYTHONDONTWRITEBYTECODE;
for (const shim of Object.values(shims)) run(python, ['-m', 'compileall', '-q', path.join(shim, 'mpi4py')], env);
const samples = Object.fromEntries(Object.keys(shims).map((name) => [name, []]));
for (let i = 0; i < Number(runs); i++) {
  for (const [name, shim] of Object.entries(shims)) samples[name].push(run(python, ['-c', 'from mpi4py import MPI'], { ...env, PYTHONPATH: shim }).seconds);
}
const quartile = (values, q) => [...values].sort((a, b) => a - b)[Math.floor(values.length * q)];
const ms = (s) => `${(s * 1000).toFixed(2)} ms`;
console.log(`| shim | median | quartiles |\n|---|---:|---:|`);
for (const [name, values] of Object.entries(samples)) console.log(`| ${name} | ${ms(median(values))} | ${ms(quartile(values, 0.25))}–${ms(quartile(values, 0.75))} |`);
