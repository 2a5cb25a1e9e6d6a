// Benchmarks the ranked runtime against Open MPI on this machine, in one run:
// MPI call latencies at np 2 and 4 (mpiaas vs mpirun + Debian's mpi4py), the Redis round
// trip they are built on, and the start-to-finish time of hello at np 4.
// Usage: npm run bench [-- --quick]     (prints a Markdown table)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const python = '/usr/bin/python3'; // the interpreter Debian's mpi4py is built for: same numpy on both sides
const cli = path.join(root, 'apps/cli/dist/main.js');
const mpiEnv = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };
const mpiaasEnv = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:${process.pid}:` };

if (!existsSync('/usr/bin/mpirun')) {
  console.error('mpirun not found: run `bash scripts/test.sh` once (it installs openmpi-bin and python3-mpi4py)');
  process.exit(1);
}

function run(command, args, env) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8', timeout: 600_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return { stdout: result.stdout, seconds };
}

const micro = (launcher, np) => {
  const scale = quick ? '0.2' : '1';
  const { stdout } =
    launcher === 'mpirun'
      ? run('mpirun', ['-np', String(np), python, 'bench/mpi_micro.py', scale], mpiEnv)
      : run(process.execPath, [cli, 'exec', '-n', String(np), '--python', python, 'bench/mpi_micro.py', scale], mpiaasEnv);
  return JSON.parse(stdout.trim().split('\n').pop());
};

async function redisRoundTripMicros() {
  const redis = new Redis(process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379');
  for (let i = 0; i < 500; i++) await redis.ping();
  const n = 5000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await redis.ping();
  const micros = Number(process.hrtime.bigint() - started) / n / 1000;
  redis.disconnect();
  return micros;
}

/** SET then GET of 8 MiB: the least it costs to move a large payload through Redis once. */
async function redisLargeCopyMillis() {
  const redis = new Redis(process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const key = `bench:${process.pid}:large`;
  const payload = Buffer.alloc(8 * 1024 * 1024, 7);
  const samples = [];
  for (let i = 0; i < 7; i++) {
    const started = process.hrtime.bigint();
    await redis.set(key, payload);
    await redis.getBuffer(key);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  await redis.del(key);
  redis.disconnect();
  return median(samples);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const fmt = (micros) => (micros >= 1000 ? `${(micros / 1000).toFixed(2)} ms` : `${micros.toFixed(1)} µs`);

// The round trip moves with the machine's load: take the median of several samples.
const rtt = median([await redisRoundTripMicros(), await redisRoundTripMicros(), await redisRoundTripMicros()]);
const largeCopy = await redisLargeCopyMillis();
const rows = [];
for (const np of [2, 4]) {
  const base = micro('mpirun', np);
  const ours = micro('mpiaas', np);
  for (const name of Object.keys(base)) {
    rows.push({ name, np, base: base[name], ours: ours[name] });
  }
}

const helloRuns = quick ? 3 : 7;
const helloBase = [];
const helloOurs = [];
for (let i = 0; i < helloRuns; i++) {
  helloBase.push(run('mpirun', ['-np', '4', python, 'examples/hello.py'], mpiEnv).seconds);
  helloOurs.push(run(process.execPath, [cli, 'exec', '-n', '4', '--python', python, 'examples/hello.py'], mpiaasEnv).seconds);
}

console.log(`Redis PING round trip (ioredis, loopback): ${fmt(rtt)}`);
console.log(`Redis SET + GET of 8 MiB (the floor for moving 8 MiB through Redis once): ${largeCopy.toFixed(2)} ms\n`);
console.log('| operation | np | Open MPI | mpiaas | ratio | mpiaas in Redis round trips |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of rows) {
  console.log(
    `| ${row.name} | ${row.np} | ${fmt(row.base)} | ${fmt(row.ours)} | ${(row.ours / row.base).toFixed(1)}x | ${(row.ours / rtt).toFixed(1)} |`,
  );
}
const hb = median(helloBase);
const ho = median(helloOurs);
console.log(
  `| hello.py wall time (median of ${helloRuns}) | 4 | ${hb.toFixed(3)} s | ${ho.toFixed(3)} s | ${(ho / hb).toFixed(2)}x | |`,
);
