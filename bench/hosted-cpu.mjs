// Why a small collective between two workers is slower than the same between two agents of one
// `mpiaas exec --agents 2`: wall time, CPU and wakeups per Allreduce of 8 B at np 2, one rank
// on each of two fresh workers of a private stack (its own database, prefixes and work
// directories, removed at the end), against exec --agents 2 in the same run (alternating).
// Per operation: the ranks' CPU and wakeups (each rank's own count in its timed loop), and the
// agents' side: exec's process from /proc as the loop starts and ends; the workers' processes
// from /proc as the job is posted and as it is final, less the same for a job of no calls run
// just before it (what starting and ending a job costs them).
// Usage: npm run bench:hosted-cpu [-- --quick]     (prints a Markdown table)
import os from 'node:os';
import { SchedulerKeys } from '@mpiaas/contracts';
import { Redis } from 'ioredis';
import { API_MAIN, CLI_MAIN, MIGRATE, WORKER_MAIN, fmtMicros, machineLine, redisUrl, requireFiles, selfContainedScript } from './lib/common.mjs';
import { processSeconds, processWakeups } from './lib/cpu-time.mjs';
import { execJobBudget, medianOf } from './lib/op-budget.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';
import { stackOptions } from './lib/stack-options.mjs';

const { quick, workerEnv } = stackOptions();
const TIMES = quick ? 2000 : 10_000;
const RUNS = quick ? 1 : 3;
requireFiles([CLI_MAIN, API_MAIN, WORKER_MAIN, MIGRATE]);

const script = selfContainedScript('op_cpu.py', ['pingpong.py']);

const loadBefore = os.loadavg();
const stack = createPrivateStack({ label: 'hosted-cpu' });
const samples = { exec: [], service: [] };
await stack.guard(async () => {
  await stack.open();
  const keys = new SchedulerKeys(stack.queuePrefix);
  const redis = new Redis(redisUrl);
  try {
    const workers = [0, 1].map((i) =>
      stack.startWorker(`worker ${i}`, { ...workerEnv, WORKER_ID: `bench-${stack.id}-w${i}`, SLOTS: '1', WORK_DIR: stack.extraWorkDir(`w${i}`) }),
    );
    await stack.waitFor('2 workers of 1 slot', async () => (await redis.hlen(keys.workers)) === 2 && stack.workerSeen(), workers, 60_000);
    const pids = workers.map((proc) => proc.child.pid);
    // warmed by one untimed job, as bench:hosted does (a fresh worker's first job is slower)
    await serviceBudget(pids, Math.floor(TIMES / 10));
    for (let i = 0; i < RUNS; i++) {
      samples.exec.push(await execJobBudget({ op: 'allreduce', np: 2, agents: 2, times: TIMES, prefix: stack.rankPrefix }));
      samples.service.push(await serviceBudget(pids, TIMES));
    }
  } finally {
    redis.disconnect();
  }
});

/** One job of `times` Allreduces over the two workers: the workers' CPU and wakeups, the ranks' lines. */
async function workersOn(pids, times) {
  const counters = () => pids.map((pid) => ({ cpu: processSeconds(pid), wakeups: processWakeups(pid) }));
  const before = counters();
  const job = await stack.timedJob({ script, np: 2, args: [String(times), 'allreduce'] }, { name: 'allreduce', lines: 4, prefix: '' });
  const after = counters();
  if (new Set(job.final.ranks.map((r) => r.worker)).size !== 2) throw new Error('the job did not run on both workers');
  const total = (key) => after.reduce((sum, a, i) => sum + a[key] - before[i][key], 0);
  return { cpu: total('cpu'), wakeups: total('wakeups'), ranks: job.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)) };
}

/** Per Allreduce over the two workers, as execJobBudget's: a job of `times` less one of none. */
async function serviceBudget(pids, times) {
  const empty = await workersOn(pids, 0);
  const job = await workersOn(pids, times);
  const { ranks } = job;
  const spent = (key) => Math.max(0, job[key] - empty[key]) / times;
  return {
    wall: Math.max(...ranks.map((r) => r.seconds)) / times,
    ranks: ranks.reduce((sum, r) => sum + r.cpu, 0) / times,
    agents: spent('cpu'),
    rankWakeups: ranks.reduce((sum, r) => sum + r.wakeups, 0) / times,
    agentWakeups: spent('wakeups'),
  };
}

if (samples.service.length === RUNS) {
  const exec = medianOf(samples.exec);
  const service = medianOf(samples.service);
  console.log(machineLine(loadBefore, quick));
  console.log(`Allreduce of 8 B, np 2, one rank per agent; medians of ${RUNS} alternating jobs of ${TIMES} calls each\n`);
  console.log('| per operation | wall | CPU: ranks | CPU: agents | wakeups: ranks | wakeups: agents |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, b] of [['`exec --agents 2` (both agents in one process)', exec], ['service, 2 workers (an agent in each)', service]]) {
    console.log(`| ${name} | ${fmtMicros(b.wall * 1e6)} | ${fmtMicros(b.ranks * 1e6)} | ${fmtMicros(b.agents * 1e6)} | ${b.rankWakeups.toFixed(1)} | ${b.agentWakeups.toFixed(1)} |`);
  }
  console.log(`\nService / exec: wall ${(service.wall / exec.wall).toFixed(2)}x, agents' CPU ${(service.agents / exec.agents).toFixed(2)}x, agents' wakeups ${(service.agentWakeups / exec.agentWakeups).toFixed(2)}x.`);
  console.log('Wakeups: voluntary context switches per operation (all ranks together; the agents\' processes together).');
  console.log("The workers' CPU and wakeups: a job's less those of a job of no calls run just before it (claim, start, logs, end).");
}
