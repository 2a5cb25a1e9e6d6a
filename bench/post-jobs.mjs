// POST /jobs alone: bench/service.mjs's throughput and latency part (16 connections, no
// worker, the jobs just queue) against GET /healthz of the same api in the same run, on a
// private stack removed at the end.
// The target is a capacity: ≥ 2000 jobs/s with p99 ≤ 50 ms. With few connections the rate is
// bound by each request's latency, not by the machine (a job is stored in Postgres, then
// queued in Redis: ~5 ms of round trips in order), so the load runs at several connection
// counts, one after the other on the same stack, and the capacity is the best rate whose p99
// stays within 50 ms. 16 connections is where the figures before 2026-12-07 were taken.
// Usage: node bench/post-jobs.mjs [--seconds=10] [--connections=16,32,48,64] [--auth=api-key] [--profile=DIR] [--api=MAIN]
//   --auth=api-key: the api runs with AUTH_MODE=api-key and the load sends a key of a tenant
//     of its own (the key lookup and the per-key rate limit are then on the path).
//   --profile=DIR: the api runs with --cpu-prof, its profile written to DIR at the end.
//   --api=MAIN: another build of the api's main.js (to compare a change against apps/api/dist).
import os from 'node:os';
import path from 'node:path';
import { API_MAIN, MIGRATE, machineLine, requireFiles, root, run } from './lib/common.mjs';
import { measurePostJobs } from './lib/post-jobs-load.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';

const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const loadSeconds = Number(option('seconds', '10'));
const connectionCounts = option('connections', '16,32,48,64').split(',').map(Number);
if (connectionCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--connections: whole numbers ≥ 1, comma-separated');
const auth = option('auth', 'none');
const profileDir = option('profile', undefined);
const apiMain = path.resolve(option('api', API_MAIN));
if (!['none', 'api-key'].includes(auth)) throw new Error(`--auth must be none or api-key, not ${auth}`);

requireFiles([apiMain, MIGRATE]);
const stack = createPrivateStack({
  label: 'post',
  nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [],
});
const loadBefore = os.loadavg();
const results = [];

await stack.guard(async () => {
  await stack.open({ AUTH_MODE: auth }, apiMain);
  const headers = {};
  if (auth === 'api-key') {
    const { stdout } = run(process.execPath, [path.join(root, 'apps/api/dist/create-api-key.js'), '--tenant', 'bench', 'bench'], stack.env());
    headers.authorization = `Bearer ${stdout.trim()}`;
  }
  for (const connections of connectionCounts) {
    results.push({ connections, ...(await measurePostJobs(stack, { connections, loadSeconds, warmSeconds: 2, headers })) });
  }
});

if (results.length > 0) {
  console.log(`\n${machineLine(loadBefore, false)}; AUTH_MODE=${auth}\n`);
  console.log('| benchmark | baseline (same run) | mpiaas | ratio | target | met |');
  console.log('|---|---:|---:|---:|---|:-:|');
  for (const result of results) {
    for (const r of result.rows) console.log(`| ${r.name} | ${r.base} | ${r.ours} | ${r.ratio} | ${r.target} | ${r.met ? 'yes' : 'no'} |`);
  }
  const within = results.filter((r) => r.posts.latency.p99 <= 50).sort((a, b) => b.postRate - a.postRate)[0];
  console.log(
    within
      ? `\nCapacity within p99 ≤ 50 ms: **${within.postRate.toFixed(0)} jobs/s** at ${within.connections} connections (p99 ${within.posts.latency.p99} ms): target ≥ 2000 ${within.postRate >= 2000 ? 'met' : 'not met'}`
      : '\nCapacity within p99 ≤ 50 ms: none of the connection counts kept p99 within 50 ms',
  );
  for (const result of results) console.log(`\n${result.notes.map((n) => `- ${n}`).join('\n')}`);
  console.log('');
}
