// What a job spread over workers costs against the same spread inside one `mpiaas exec`.
// `mpiaas exec --agents 2` hosts both agents on one Node thread, as the runtime bench measures
// them; the service hosts each in its own worker process, as deployed. The same
// bench/mpi_micro.py (per_call.py and pingpong.py inlined, as a job is one script) runs both
// ways, alternating, at np 2 (2 workers × 1 slot) and np 4 (2 × 2; fresh workers each, warmed by
// one untimed job), on a private stack (its own database, BullMQ prefix, rank-key prefix and
// work directories, removed at the end).
// Usage: npm run bench:hosted [-- --quick] [--profile=DIR] [--env=NAME=VALUE …]     (prints a Markdown table)
// (--profile: the workers run with --cpu-prof, profiles written to DIR; --env: worker configuration)
import os from 'node:os';
import { SchedulerKeys } from '@mpiaas/contracts';
import { Redis } from 'ioredis';
import { API_MAIN, CLI_MAIN, MIGRATE, WORKER_MAIN, fmtMicros, killRunning, lastJsonLine, machineLine, median, python, redisUrl, requireFiles, runAsync, selfContainedScript } from './lib/common.mjs';
import { createPrivateStack } from './lib/private-stack.mjs';
import { stackOptions } from './lib/stack-options.mjs';

const { quick, nodeArgs, workerEnv } = stackOptions();
const rounds = quick ? 1 : 3;
const scale = quick ? '0.2' : '0.5';
const NPS = [2, 4];

requireFiles([CLI_MAIN, API_MAIN, WORKER_MAIN, MIGRATE]);

const script = selfContainedScript('mpi_micro.py', ['per_call.py', 'pingpong.py']);
const loadBefore = os.loadavg();
const stack = createPrivateStack({ label: 'hosted', nodeArgs, onInterrupt: killRunning });
const execEnv = { ...process.env, MPIAAS_REDIS_PREFIX: stack.rankPrefix, MPIAAS_REDIS_URL: redisUrl };

await stack.guard(async () => {
  await stack.open();
  const keys = new SchedulerKeys(stack.queuePrefix);
  const redis = new Redis(redisUrl);
  const rows = [];
  try {
    for (const np of NPS) {
      const slots = String(np / 2);
      const workers = [0, 1].map((i) =>
        stack.startWorker(`worker ${i}`, { ...workerEnv, WORKER_ID: `bench-${stack.id}-np${np}-w${i}`, SLOTS: slots, WORK_DIR: stack.extraWorkDir(`np${np}-w${i}`) }),
      );
      await stack.waitFor(`2 workers of ${slots} slots`, async () => (await redis.hlen(keys.workers)) === 2 && stack.workerSeen(), workers, 60_000);
      // Workers are measured warm, as deployed ones run for days: a fresh worker's first job
      // shares its cores with V8 tiering up Prisma's query compiler (WebAssembly) and with
      // major GCs while the heap settles (measured: 4 MiB ping-pong over two fresh workers
      // 6.6-7.7 s for 400 round trips, the same job on them again 5.6-6.2 s).
      await stack.timedJob({ script, np, args: [quick ? '0.05' : '0.2'] }, { name: `warm-up np ${np}`, lines: 1, prefix: '{' });
      const exec = [];
      const service = [];
      for (let i = 0; i < rounds; i++) {
        const local = await runAsync(process.execPath, [CLI_MAIN, 'exec', '-n', String(np), '--agents', '2', '--python', python, 'bench/mpi_micro.py', scale], execEnv);
        exec.push(lastJsonLine(local.stdout));
        const job = await stack.timedJob({ script, np, args: [scale] }, { name: `mpi_micro np ${np}`, lines: 1, prefix: '{' });
        const spread = new Set(job.final.ranks.map((r) => r.worker));
        if (spread.size !== 2) throw new Error(`np ${np} ran on ${spread.size} worker(s), not 2`);
        service.push(lastJsonLine(job.lines[0]));
      }
      for (const name of Object.keys(exec[0])) {
        rows.push({ name, np, exec: median(exec.map((r) => r[name])), service: median(service.map((r) => r[name])) });
      }
      await Promise.all(workers.map((proc) => stack.stopProcess(proc)));
    }
  } finally {
    redis.disconnect();
  }
  console.log(machineLine(loadBefore, quick));
  console.log(`median of ${rounds} alternating runs each, mpi_micro.py at scale ${scale}\n`);
  console.log('| operation | np | `exec --agents 2` (one process) | service, 2 workers | ratio |');
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) {
    // The service gives each worker a block of ranks (0 and 1 together at np 4), exec deals
    // them round-robin (0 and 1 apart): only at np 2 do both ping-pong across agents.
    const comparable = row.np === 2 || !row.name.startsWith('pingpong');
    const ratio = comparable ? `${(row.service / row.exec).toFixed(2)}x` : '— (ranks 0 and 1 share a worker)';
    console.log(`| ${row.name} | ${row.np} | ${fmtMicros(row.exec)} | ${fmtMicros(row.service)} | ${ratio} |`);
  }
});
