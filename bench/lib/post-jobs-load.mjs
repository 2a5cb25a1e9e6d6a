// POST /jobs under load with nobody consuming (the jobs just queue), against GET /healthz of
// the same api in the same run: what bench/service.mjs and bench/post-jobs.mjs both measure.
// Checks what the load left behind: every 2xx is a jobs row and a queue entry.
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { redisUrl } from './common.mjs';
import { cpuSnapshot, cpuSpent } from './cpu-time.mjs';

const fmtRate = (r, unit) => `${r >= 100 ? r.toFixed(0) : r.toFixed(1)} ${unit}`;

function cannon(options) {
  return new Promise((resolve, reject) => {
    autocannon({ pipelining: 1, ...options }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/**
 * Runs the load on an opened private stack (bench/lib/private-stack.mjs) and returns the
 * table rows (throughput, latency), notes, and the raw autocannon results. `headers` go on
 * every request (an API key's Authorization); the queue and the jobs rows are left as they are.
 */
export async function measurePostJobs(stack, { connections, loadSeconds, warmSeconds, headers = {} }) {
  const { db, apiUrl } = stack;
  const submitBody = JSON.stringify({ script: 'pass\n', np: 1, timeoutSeconds: 60 });
  const postOptions = {
    connections,
    url: `${apiUrl}/jobs`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: submitBody,
  };
  const apiPid = [...stack.children].find((proc) => proc.name === 'api')?.child.pid;
  const database = new URL(stack.databaseUrl).pathname.slice(1);
  await cannon({ connections, url: `${apiUrl}/healthz`, duration: warmSeconds });
  const healthCpuBefore = cpuSnapshot({ apiPid, database });
  const health = await cannon({ connections, url: `${apiUrl}/healthz`, duration: loadSeconds });
  const healthCpu = cpuSpent(healthCpuBefore, cpuSnapshot({ apiPid, database }));
  await cannon({ ...postOptions, duration: warmSeconds });
  await delay(1000);
  const queue = new Queue('mpi-jobs', { connection: { url: redisUrl }, prefix: stack.queuePrefix });
  const countRows = async () => (await db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n;
  const countQueue = async () => {
    const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed');
    return counts.wait + counts.prioritized + counts.delayed;
  };
  const [rowsBefore, queuedBefore] = [await countRows(), await countQueue()];
  const cpuBefore = cpuSnapshot({ apiPid, database });
  const posts = await cannon({ ...postOptions, duration: loadSeconds });
  const cpu = cpuSpent(cpuBefore, cpuSnapshot({ apiPid, database }));
  // autocannon stops with requests in flight: their jobs are stored and queued after it returns.
  await delay(1000);
  const [rowsAfter, queuedAfter] = [await countRows(), await countQueue()];
  const { rows: [{ n: queuedRows }] } = await db.query("SELECT count(*)::int AS n FROM jobs WHERE status = 'QUEUED'");
  await queue.close();
  const created = rowsAfter - rowsBefore;
  const enqueued = queuedAfter - queuedBefore;

  const notes = [];
  if (posts.non2xx > 0 || posts.errors > 0 || posts.timeouts > 0) {
    notes.push(`POST /jobs under load: ${posts.non2xx} non-2xx, ${posts.errors} errors, ${posts.timeouts} timeouts`);
  }
  notes.push(
    `POST /jobs load: ${connections} connections, ${loadSeconds} s: ${posts['2xx']} responses 2xx, ${created} jobs rows and ` +
      `${enqueued} queue entries created (warm-up excluded; up to ${connections} more rows than 2xx: the requests in flight ` +
      `when the load stopped); ${queuedRows} rows QUEUED and ${queuedAfter} entries in the queue in all`,
  );
  const per = (seconds, count) => `${((seconds * 1000) / Math.max(count, 1)).toFixed(2)} ms`;
  notes.push(
    `CPU per accepted job during the load: api ${per(cpu.api, posts['2xx'])}, Postgres ${per(cpu.postgres, posts['2xx'])}, ` +
      `Redis ${per(cpu.redis, posts['2xx'])} (the server is shared with anything else running), load generator ${per(cpu.loadGenerator, posts['2xx'])}; ` +
      `per GET /healthz: api ${per(healthCpu.api, health.requests.total)}, load generator ${per(healthCpu.loadGenerator, health.requests.total)}`,
  );
  if (created < posts['2xx'] || created > posts['2xx'] + connections || enqueued !== created || queuedRows !== queuedAfter) {
    notes.push('**mismatch**: every accepted job should be one QUEUED row and one queue entry');
  }
  const postRate = posts['2xx'] / loadSeconds;
  const rows = [
    {
      name: `POST /jobs throughput (${connections} conn, ${loadSeconds} s)`,
      base: fmtRate(health.requests.average, 'req/s'),
      ours: fmtRate(postRate, 'jobs/s'),
      ratio: `${(postRate / health.requests.average).toFixed(2)}x`,
      target: '≥ 2000 jobs/s within p99 ≤ 50 ms',
      met: postRate >= 2000 && posts.latency.p99 <= 50,
    },
    {
      name: 'POST /jobs latency p50 / p99',
      base: `${health.latency.p50} / ${health.latency.p99} ms`,
      ours: `${posts.latency.p50} / ${posts.latency.p99} ms`,
      ratio: `${(posts.latency.p99 / Math.max(health.latency.p99, 1)).toFixed(1)}x (p99)`,
      target: 'p99 ≤ 50 ms',
      met: posts.latency.p99 <= 50,
    },
  ];
  return { rows, notes, health, posts, postRate, cpu };
}
