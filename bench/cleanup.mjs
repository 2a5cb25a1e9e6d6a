// Cleanup of a job spread over agents that ended half-way (a collective waiting for bundles,
// large envelopes nobody read), as the size of the shared Redis grows: what the job leaves is
// listed in its loose set (deleteJobKeys: SMEMBERS + UNLINK), against the baseline of finding
// it with a SCAN of the keyspace for the job's pattern (how it was done before), same run.
// Each keyspace size is filled with unrelated keys in a private redis-server (removed at the end).
// Usage: node bench/cleanup.mjs [--sizes=0,100000,1000000] [--runs=5]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { machineLine, median, requireFiles, root } from './lib/common.mjs';

const option = (name, fallback) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const sizes = option('sizes', '0,100000,1000000').split(',').map(Number);
const runs = Number(option('runs', '5'));
const dist = path.join(root, 'packages/runtime/dist');
requireFiles([path.join(dist, 'launch/delete-job-keys.js')]);
const { deleteJobKeys } = await import(path.join(dist, 'launch/delete-job-keys.js'));
const { JobKeys } = await import(path.join(dist, 'redis/job-keys.js'));
const { RedisTransport } = await import(path.join(dist, 'redis/redis-transport.js'));

const AGENTS = 3;
const LARGE = Buffer.alloc(1280 * 1024, 7);

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The old cleanup: every key matching the job's pattern, found by walking the keyspace. */
async function scanCleanup(redis, keys) {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.pattern(), 'COUNT', 1000);
    if (found.length > 0) await redis.unlink(...found);
    cursor = next;
  } while (cursor !== '0');
}

/** A job's keys as agent 0 of three leaves them when the job ends half-way. */
async function halfDoneJob(url, label) {
  const keys = new JobKeys(`bench:cleanup:${label}:`, `job.${Math.random().toString(36).slice(2)}`);
  const commands = new Redis(url);
  const blocking = new Redis(url);
  const transport = new RedisTransport({
    commands, blocking, keys, agent: 0, placement: [0, 1, 2], ttlMs: 600_000,
    onEnvelope: () => undefined,
    onFault: (error) => { throw error; },
  });
  const bundle = (seq, body) => [{ t: 'g', c: 'w', q: seq, a: 0, n: AGENTS, m: [[0, [body.length]]] }, [body]];
  await transport.rendezvous('w', 1, [0, 1, 2], ...bundle(1, Buffer.from('small')));
  await transport.rendezvous('w', 2, [0, 1, 2], ...bundle(2, LARGE));
  transport.deliver({ t: 'p', d: 1, c: 'w', s: 0, w: 0, g: 5 }, LARGE);
  await transport.heartbeat(600_000);
  await transport.stop();
  commands.disconnect();
  return keys;
}

async function timed(fn) {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const port = await freePort();
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes'], { stdio: 'ignore' });
const url = `redis://127.0.0.1:${port}`;
const loadBefore = os.loadavg();
const rows = [];
try {
  const redis = new Redis(url, { retryStrategy: (times) => (times > 50 ? null : 100) });
  await redis.ping();
  for (const size of sizes) {
    await redis.flushall();
    if (size > 0) await redis.call('DEBUG', 'POPULATE', size, 'other');
    const scanned = [];
    const listed = [];
    for (let run = 0; run < runs; run++) {
      const a = await halfDoneJob(url, 'scan');
      scanned.push(await timed(() => scanCleanup(redis, a)));
      const b = await halfDoneJob(url, 'loose');
      listed.push(await timed(() => deleteJobKeys(redis, b, AGENTS)));
      for (const keys of [a, b]) if ((await redis.keys(keys.pattern())).length > 0) throw new Error(`keys of ${keys.jobId} left`);
    }
    rows.push({ size, scan: median(scanned), loose: median(listed) });
  }
  redis.disconnect();
} finally {
  server.kill();
  await delay(50);
}

console.log(`\n${machineLine(loadBefore, false)}; medians of ${runs}\n`);
console.log('| keys in Redis | SCAN for the job\'s pattern (before) | its loose set (now) | now / before |');
console.log('|---:|---:|---:|---:|');
for (const row of rows) console.log(`| ${row.size.toLocaleString('en')} | ${row.scan.toFixed(2)} ms | ${row.loose.toFixed(2)} ms | ${(row.loose / row.scan).toPrecision(2)}x |`);
