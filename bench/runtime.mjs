// Benchmarks the ranked runtime against Open MPI on this machine, in one run:
// MPI call latencies at np 2 and 4 (mpiaas vs mpirun + Debian's mpi4py), the Redis round
// trip they are built on, and the start-to-finish time of hello at np 4.
// Usage: npm run bench [-- --quick]     (prints a Markdown table)
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { CLI_MAIN as cli, fmtMicros as fmt, median, mpiEnv, python, redisRoundTripMedianMicros, run } from './lib/common.mjs';

const quick = process.argv.includes('--quick');
const mpiaasEnv = { ...process.env, MPIAAS_REDIS_PREFIX: `bench:${process.pid}:` };

if (!existsSync('/usr/bin/mpirun')) {
  console.error('mpirun not found: run `bash scripts/test.sh` once (it installs openmpi-bin and python3-mpi4py)');
  process.exit(1);
}

const micro = (launcher, np) => {
  const scale = quick ? '0.2' : '1';
  const { stdout } =
    launcher === 'mpirun'
      ? run('mpirun', ['-np', String(np), python, 'bench/mpi_micro.py', scale], mpiEnv)
      : run(process.execPath, [cli, 'exec', '-n', String(np), '--python', python, 'bench/mpi_micro.py', scale], mpiaasEnv);
  return JSON.parse(stdout.trim().split('\n').pop());
};

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

const rtt = await redisRoundTripMedianMicros();
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
