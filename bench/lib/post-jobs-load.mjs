// POST /jobs under load with nobody consuming (the jobs just queue), against GET /healthz of
// the same api in the same run: what bench/service.mjs and bench/post-jobs.mjs both measure.
// Checks what the load left behind: every 2xx is a jobs row and a queue entry.
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { redisUrl } from './common.mjs';

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
  await cannon({ connections, url: `${apiUrl}/healthz`, duration: warmSeconds });
  const health = await cannon({ connections, url: `${apiUrl}/healthz`, duration: loadSeconds });
  await cannon({ ...postOptions, duration: warmSeconds });
  await delay(1000);
  const queue = new Queue('mpi-jobs', { connection: { url: redisUrl }, prefix: stack.queuePrefix });
  const countRows = async () => (await db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n;
  const countQueue = async () => {
    const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed');
    return counts.wait + counts.prioritized + counts.delayed;
  };
  const [rowsBefore, queuedBefore] = [await countRows(), await countQueue()];
  const posts = await cannon({ ...postOptions, duration: loadSeconds });
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
      target: '≥ 2000 jobs/s',
      met: postRate >= 2000,
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
  return { rows, notes, health, posts, postRate };
}
