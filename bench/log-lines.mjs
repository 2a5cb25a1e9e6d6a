// 1M log lines from 4 ranks stored by one worker, on a private stack (api + one worker, own
// database and prefixes, removed at the end), against the same 4 processes writing to files in
// the same run. The log-lines row of bench/service.mjs alone.
// Usage: npm run bench:logs [-- --quick] [-- --profile=DIR] [-- --env=NAME=VALUE …]
//   --env: worker configuration for the run; --profile=DIR: the api and worker run with --cpu-prof.
import os from 'node:os';
import { API_MAIN, MIGRATE, WORKER_MAIN, machineLine, requireFiles } from './lib/common.mjs';
import { LOG_CAP_BYTES, measureLogLines } from './lib/log-lines.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';
import { stackOptions } from './lib/stack-options.mjs';

const { quick, nodeArgs, workerEnv } = stackOptions();

requireFiles([API_MAIN, WORKER_MAIN, MIGRATE]);

const stack = createPrivateStack({ label: 'logs', nodeArgs });
const loadBefore = os.loadavg();
let result;
await stack.guard(async () => {
  await stack.open();
  const worker = stack.startWorker('worker', { WORKER_ID: `bench-${stack.id}`, LOG_CAP_BYTES, ...workerEnv });
  await stack.waitFor('worker', stack.workerSeen, worker);
  result = await measureLogLines(stack, { linesPerRank: quick ? 25_000 : 250_000, worker });
});

if (result) {
  const r = result.row;
  console.log(`\n${machineLine(loadBefore, quick)}${Object.keys(workerEnv).length ? `; worker ${JSON.stringify(workerEnv)}` : ''}\n`);
  console.log('| benchmark | baseline (same run) | mpiaas | ratio | target | met |');
  console.log('|---|---:|---:|---:|---|:-:|');
  console.log(`| ${r.name} | ${r.base} | ${r.ours} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'no'} |`);
  console.log(`\n- ${result.note}\n`);
}
