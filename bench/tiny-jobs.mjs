// Tiny jobs (`pass`, np 1) completed per second by one worker, on a private stack (api + one
// worker, own database and prefixes, removed at the end), against `python3 -c pass` and
// `mpirun -np 1` run sequentially in the same run. The tiny-jobs row of bench/service.mjs alone.
// Usage: npm run bench:tiny [-- --quick] [-- --jobs=N] [-- --profile=DIR] [-- --env=NAME=VALUE …]
//   --env: worker configuration for the run (e.g. --env=RANK_WARM_POOL=0 to compare);
//   --profile=DIR: the api and worker run with --cpu-prof, profiles written to DIR.
import os from 'node:os';
import { API_MAIN, MIGRATE, WORKER_MAIN, machineLine, requireFiles } from './lib/common.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';
import { stackOptions } from './lib/stack-options.mjs';
import { measureTinyJobs } from './lib/tiny-jobs.mjs';

const { quick, option, nodeArgs, workerEnv } = stackOptions();
const jobs = Number(option('jobs') ?? (quick ? 30 : 200));
const mpirunRuns = quick ? 5 : 20;

requireFiles(['/usr/bin/mpirun', API_MAIN, WORKER_MAIN, MIGRATE]);

const stack = createPrivateStack({ label: 'tiny', nodeArgs });
const loadBefore = os.loadavg();
let result;
await stack.guard(async () => {
  const apiProc = await stack.open();
  const worker = stack.startWorker('worker', { WORKER_ID: `bench-${stack.id}`, ...workerEnv });
  await stack.waitFor('worker', stack.workerSeen, worker);
  result = await measureTinyJobs(stack, { jobs, mpirunRuns, worker, apiPid: apiProc.child.pid });
});

if (result) {
  const r = result.row;
  // Whether ranks joined their cgroups without the kernel's grace period, as the worker reads it
  // (its build, imported once requireFiles has found it).
  const { favorDynmodsShown } = await import('../apps/worker/dist/runs/cgroup-favor-dynmods.js');
  const favored = await favorDynmodsShown();
  console.log(
    `\n${machineLine(loadBefore, quick)}; cgroup favordynmods ${favored ? 'on' : 'not shown'}${Object.keys(workerEnv).length ? `; worker ${JSON.stringify(workerEnv)}` : ''}\n`,
  );
  console.log('| benchmark | baseline (same run) | mpiaas | ratio | target | met |');
  console.log('|---|---:|---:|---:|---|:-:|');
  console.log(`| ${r.name} | ${r.base} | ${r.ours} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'no'} |`);
  console.log(`\n- ${result.note}\n`);
}
