// Two builds of the worker on tiny jobs (`pass`, np 1), alternating (ABBA…) so the machine's
// drift falls on both alike: each round starts a private stack (this checkout's api) with one
// worker of one build, stops that worker (SIGSTOP) while the jobs are queued, then lets it go
// and times how fast it runs them and the CPU it spends a job (its own process, with the
// threads of its pool).
// Usage: node bench/worker-ab.mjs OTHER_DIST [--jobs=500] [--rounds=3]
//   OTHER_DIST: another build of apps/worker/dist, copied beside it so that it finds this
//   checkout's packages (the worker's own code is what differs), e.g.
//   git stash && npm run build && cp -r apps/worker/dist apps/worker/dist-before && git stash pop && npm run build
//   node bench/worker-ab.mjs apps/worker/dist-before
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { machineLine, median, WORKER_MAIN } from './lib/common.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';
import { stackOptions } from './lib/stack-options.mjs';

const other = process.argv.slice(2).find((arg) => !arg.startsWith('--'));
const { option } = stackOptions();
const jobs = Number(option('jobs') ?? 500);
const rounds = Number(option('rounds') ?? 3);
if (!other) {
  console.error('usage: node bench/worker-ab.mjs OTHER_DIST [--jobs=500] [--rounds=3]');
  process.exit(2);
}
const builds = { [other]: path.resolve(other, 'main.js'), 'this checkout': WORKER_MAIN };
for (const main of Object.values(builds)) if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build there`);

/** CPU milliseconds of a process so far (user + system, its threads included; clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function oneRound(main) {
  const stack = createPrivateStack({ label: 'ab' });
  let result;
  await stack.guard(async () => {
    await stack.open();
    // Silent while stopped: it keeps its slots for that long.
    const worker = stack.startProcess('worker', main, stack.env({ WORKER_ID: `ab-${stack.id}`, WORKER_TIMEOUT_MS: '60000' }));
    await stack.waitFor('worker', stack.workerSeen, worker);
    worker.child.kill('SIGSTOP');
    const ids = [];
    for (let i = 0; i < jobs; i += 50) {
      const batch = Array.from({ length: Math.min(50, jobs - i) }, () => stack.api('POST', '/jobs', { script: 'pass\n', np: 1 }));
      ids.push(...(await Promise.all(batch)).map((job) => job.id));
    }
    const cpuBefore = cpuMs(worker.child.pid);
    const started = Date.now();
    worker.child.kill('SIGCONT');
    for (;;) {
      const { rows } = await stack.db.query(`SELECT count(*)::int AS n FROM jobs WHERE status = 'SUCCEEDED' AND id = ANY($1::uuid[])`, [ids]);
      if (rows[0].n === jobs) break;
      if (Date.now() - started > 300_000) throw new Error(`${main}: ${rows[0].n} of ${jobs} jobs done after 300 s`);
      await delay(20);
    }
    const seconds = (Date.now() - started) / 1000;
    result = { rate: jobs / seconds, cpu: (cpuMs(worker.child.pid) - cpuBefore) / jobs };
  });
  return result;
}

const loadBefore = os.loadavg();
const samples = Object.fromEntries(Object.keys(builds).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? Object.entries(builds) : Object.entries(builds).reverse();
  for (const [name, main] of order) samples[name].push(await oneRound(main));
}
console.log(`\n${machineLine(loadBefore, false)}; ${jobs} jobs queued first, then run by one worker; ${rounds} rounds, builds alternating\n`);
console.log('| worker build | jobs/s (median, each round) | worker CPU per job (median, each round) |');
console.log('|---|---:|---:|');
for (const [name, list] of Object.entries(samples)) {
  const rates = list.map((s) => s.rate);
  const cpus = list.map((s) => s.cpu);
  console.log(`| ${name} | ${median(rates).toFixed(0)} (${rates.map((r) => r.toFixed(0)).join(', ')}) | ${median(cpus).toFixed(2)} ms (${cpus.map((c) => c.toFixed(2)).join(', ')}) |`);
}
