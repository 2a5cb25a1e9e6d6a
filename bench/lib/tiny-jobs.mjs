// Tiny jobs (`pass`, np 1) through one worker, against the same machine starting the same
// script sequentially in the same run: what bench/service.mjs and bench/tiny-jobs.mjs measure.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { mpiEnv, python, run, seconds } from './common.mjs';
import { pidsWhose, processSeconds } from './cpu-time.mjs';

const fmtRate = (r, unit) => `${r >= 100 ? r.toFixed(0) : r.toFixed(1)} ${unit}`;
const ms = (s) => `${(s * 1000).toFixed(0)} ms`;
/** CPU seconds of a process with the children it reaped (a worker's are its ranks). */
const cpuSeconds = (pid) => processSeconds(pid, { children: true });

/**
 * CPU seconds so far of each part of the stack: the worker with the ranks it reaped, its rank
 * zygote with the ranks it forked, the api, the Postgres backends of the bench's database and
 * Redis (a server shared with whatever else runs here).
 */
function cpuSnapshot(stack, workerPid, apiPid) {
  const byPid = (pids) => new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  const database = new URL(stack.databaseUrl).pathname.slice(1);
  return {
    worker: cpuSeconds(workerPid),
    zygote: byPid(pidsWhose((cmd) => cmd.includes('rank_zygote.py') && cmd.includes(stack.workDir))),
    api: cpuSeconds(apiPid),
    postgres: byPid(pidsWhose((cmd) => cmd.startsWith('postgres: ') && cmd.includes(` ${database} `))),
    redis: byPid(pidsWhose((cmd) => cmd.startsWith('redis-server'))),
  };
}

function cpuSpent(before, after) {
  const delta = (a, b) => [...b].reduce((sum, [pid, s]) => sum + s - (a.get(pid) ?? 0), 0);
  return {
    worker: after.worker - before.worker,
    zygote: delta(before.zygote, after.zygote),
    api: after.api - before.api,
    postgres: delta(before.postgres, after.postgres),
    redis: delta(before.redis, after.redis),
  };
}

/**
 * Submits `jobs` tiny jobs (8 submitters at once) to an opened private stack whose worker is
 * running, waits until all SUCCEEDED, then runs the baselines: `python3 -c pass` `jobs` times
 * and `mpirun -np 1` `mpirunRuns` times, sequentially. Returns the table row, a note with
 * where a job's time went (from the timestamps the service stores) and the raw figures.
 */
export async function measureTinyJobs(stack, { jobs, mpirunRuns, worker, apiPid }) {
  const { db, api, scratch } = stack;
  const cpuBefore = worker && apiPid ? cpuSnapshot(stack, worker.child.pid, apiPid) : undefined;
  const started = process.hrtime.bigint();
  const ids = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < jobs) {
        next++;
        ids.push((await api('POST', '/jobs', { script: 'pass\n', np: 1 })).id);
      }
    }),
  );
  const submitted = seconds(started);
  for (;;) {
    const { rows: counts } = await db.query('SELECT status::text, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status', [ids]);
    const by = Object.fromEntries(counts.map((r) => [r.status, r.n]));
    if ((by.SUCCEEDED ?? 0) === jobs) break;
    const bad = counts.filter((r) => !['QUEUED', 'RUNNING', 'SUCCEEDED'].includes(r.status));
    if (bad.length > 0) throw new Error(`tiny jobs ended badly: ${JSON.stringify(by)}\n${worker?.output ?? ''}`);
    if (seconds(started) > 600) throw new Error(`tiny jobs not done after 600 s: ${JSON.stringify(by)}`);
    await delay(20);
  }
  const tinySeconds = seconds(started);
  const rate = jobs / tinySeconds;
  const cpu = cpuBefore ? cpuSpent(cpuBefore, cpuSnapshot(stack, worker.child.pid, apiPid)) : undefined;
  // Where a job's time goes, from the timestamps the service stores: queued → claimed
  // (jobs.started_at) → rank exited (job_ranks.finished_at) → final status stored.
  const { rows: [span] } = await db.query(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.started_at - j.created_at)) AS wait_p50,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - j.started_at)) AS run_p50,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - j.started_at)) AS rank_p50,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finished_at - r.finished_at)) AS after_p50
       FROM jobs j JOIN job_ranks r ON r.job_id = j.id AND r.rank = 0 WHERE j.id = ANY($1::uuid[])`,
    [ids],
  );
  const passStarted = process.hrtime.bigint();
  for (let i = 0; i < jobs; i++) run(python, ['-c', 'pass']);
  const passRate = jobs / seconds(passStarted);
  writeFileSync(path.join(scratch, 'pass.py'), 'pass\n');
  const mpirunStarted = process.hrtime.bigint();
  for (let i = 0; i < mpirunRuns; i++) run('mpirun', ['-np', '1', python, path.join(scratch, 'pass.py')], mpiEnv);
  const mpirunRate = mpirunRuns / seconds(mpirunStarted);
  const row = {
    name: `tiny jobs (\`pass\`, np 1) by 1 worker, ${jobs} jobs`,
    base: `${fmtRate(passRate, '/s')} (python3 -c pass, sequential); ${fmtRate(mpirunRate, '/s')} (mpirun -np 1, ${mpirunRuns} runs)`,
    ours: fmtRate(rate, 'jobs/s'),
    ratio: `${(rate / passRate).toFixed(2)}x python; ${(rate / mpirunRate).toFixed(1)}x mpirun`,
    target: '≥ 50 jobs/s',
    met: rate >= 50,
  };
  let note =
    `tiny jobs: all ${jobs} POSTed in ${submitted.toFixed(2)} s; all SUCCEEDED after ${tinySeconds.toFixed(2)} s; ` +
    `per job (stored timestamps, medians): queued→claimed ${ms(span.wait_p50)}, claimed→final ${ms(span.run_p50)} ` +
    `(claimed→rank exited ${ms(span.rank_p50)}, rank exited→final status stored ${ms(span.after_p50)})`;
  if (cpu) {
    // What a job costs in CPU moves far less with the machine's load than its rate does.
    const per = (s) => `${((s / jobs) * 1000).toFixed(1)} ms`;
    const total = cpu.worker + cpu.zygote + cpu.api + cpu.postgres + cpu.redis;
    note +=
      `; CPU per job: worker ${per(cpu.worker)} (with the ranks it started), warm pool ${per(cpu.zygote)} (zygote and the ranks it forked), ` +
      `api ${per(cpu.api)}, Postgres ${per(cpu.postgres)}, Redis ${per(cpu.redis)} (shared server); ` +
      `${per(total)} in all: ${(os.availableParallelism() / (total / jobs)).toFixed(0)} jobs/s if the ${os.availableParallelism()} CPUs did nothing else`;
  }
  return { row, note, rate, passRate, mpirunRate, cpu };
}
