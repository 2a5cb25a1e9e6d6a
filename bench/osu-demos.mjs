// mpi4py's own OSU-style demos (osu_latency, osu_bw, osu_bcast...), the benchmarks its users
// reach for first, run unmodified under Open MPI's mpirun (Debian's mpi4py) and under
// `mpiaas exec`, each timed whole, with their per-size figures side by side. Nothing of them
// is committed: bring the demo/ folder of mpi4py at some tag, e.g. from a mirror of its
// repository:  git --git-dir=MIRROR archive 4.1.2 demo | tar -x -C /tmp/mpi4py-4.1.2
// Usage: node bench/osu-demos.mjs DEMO_DIR [osu_latency osu_bw osu_bcast ...]
// (np 2 for the point-to-point ones, 4 for collectives; each run is killed after 10 minutes.)
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI_MAIN, mpiEnv, python, requireFiles, run } from './lib/common.mjs';

const [dir, ...names] = process.argv.slice(2);
if (!dir || !existsSync(path.join(dir, 'osu_latency.py'))) {
  console.error('usage: node bench/osu-demos.mjs DEMO_DIR [demo ...]   (DEMO_DIR: mpi4py\'s demo/ folder)');
  process.exit(2);
}
requireFiles(['/usr/bin/mpirun', CLI_MAIN]);
const POINT_TO_POINT = new Set(['osu_latency', 'osu_bw', 'osu_bibw', 'osu_multi_lat']);
const demos = names.length ? names : ['osu_latency', 'osu_bw', 'osu_bcast'];

/** The demo's table: size → figure, and the header line naming the figure. */
function table(stdout) {
  const rows = new Map();
  let unit = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# Size')) unit = line.replace(/^# Size \[B\]\s*/, '').trim();
    const match = /^\s*(\d+)\s+([\d.]+)\s*$/.exec(line);
    if (match) rows.set(Number(match[1]), Number(match[2]));
  }
  return { rows, unit };
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ');
console.log(`Machine: ${os.cpus().length} CPUs; load average (1/5/15 min) before ${load()}`);
for (const demo of demos) {
  const script = path.resolve(dir, `${demo}.py`);
  const np = POINT_TO_POINT.has(demo) ? '2' : '4';
  const reference = run('/usr/bin/mpirun', ['-np', np, python, script], mpiEnv);
  const ours = run(process.execPath, [CLI_MAIN, 'exec', '-n', np, '--python', python, script]);
  const [a, b] = [table(reference.stdout), table(ours.stdout)];
  // osu_bw and osu_bibw print MB/s under a header that says latency
  if (demo.includes('bw')) a.unit = b.unit = 'bandwidth [MB/s]';
  console.log(`\n${demo} (np ${np}): whole run ${reference.seconds.toFixed(1)} s under mpirun, ${ours.seconds.toFixed(1)} s under mpiaas exec`);
  console.log(`| size (B) | Open MPI: ${a.unit} | mpiaas: ${b.unit} |\n|---:|---:|---:|`);
  for (const [size, figure] of a.rows) console.log(`| ${size} | ${figure} | ${b.rows.get(size) ?? '–'} |`);
}
console.log(`\nload average after ${load()}`);
