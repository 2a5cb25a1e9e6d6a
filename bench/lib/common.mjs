// What the benchmarks share: where things are, how a command is run and timed, the Redis
// round trip figures are read against, and how figures are printed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Debian's, with mpi4py for mpirun; the worker's ranks and `mpiaas exec` use it too (same numpy on both sides). */
export const python = '/usr/bin/python3';
export const mpiEnv = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };
export const redisUrl = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CLI_MAIN = path.join(root, 'apps/cli/dist/main.js');
export const API_MAIN = path.join(root, 'apps/api/dist/main.js');
export const WORKER_MAIN = path.join(root, 'apps/worker/dist/main.js');
export const MIGRATE = path.join(root, 'packages/db/dist/migrate-cli.js');

/**
 * `mpiaas` as users type it: the command scripts/setup.sh put on the PATH for this checkout
 * (for exec it starts Node without NODE_EXTRA_CA_CERTS), else `node apps/cli/dist/main.js`.
 * For the benchmarks that time a whole command; `[command, leading args]`.
 */
export function mpiaasCommand() {
  const found = spawnSync('sh', ['-c', 'command -v mpiaas'], { encoding: 'utf8' }).stdout.trim();
  const ours = found !== '' && existsSync(found) && readFileSync(found, 'utf8').includes(`mpiaas CLI of ${root} (`);
  return ours ? [found, []] : [process.execPath, [CLI_MAIN]];
}

/** Exits when one of `files` (mpirun, built mains) is missing, saying how to get it. */
export function requireFiles(files) {
  for (const file of files) {
    if (!existsSync(file)) {
      console.error(`${file} not found: run \`npm run build\` (and \`bash scripts/test.sh\` once for Open MPI + mpi4py)`);
      process.exit(1);
    }
  }
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
export const seconds = (startNs) => Number(process.hrtime.bigint() - startNs) / 1e9;
/** The JSON object a bench script printed last (rank 0's results, after anything else it printed). */
export const lastJsonLine = (stdout) => JSON.parse(stdout.trim().split('\n').pop());

/** Runs a command to its end (blocking): its stdout and wall seconds; throws unless it exits 0. */
export function run(command, args, env = process.env, stdout = 'pipe') {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, env, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', stdout, 'pipe'] });
  const elapsed = seconds(started);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return { stdout: result.stdout, seconds: elapsed };
}

const running = new Set();
/** As run, without blocking the event loop (so Ctrl-C is handled at once); killRunning() ends what is left. */
export function runAsync(command, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.delete(child);
      const elapsed = seconds(started);
      if (code === 0) resolve({ stdout, seconds: elapsed });
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}):\n${stderr}`));
    });
  });
}
export function killRunning() {
  for (const child of running) child.kill('SIGTERM');
}

/** Mean PING round trip of one ioredis connection, µs (after a warm-up). */
export async function redisRoundTripMicros() {
  const redis = new Redis(redisUrl);
  for (let i = 0; i < 500; i++) await redis.ping();
  const n = 5000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await redis.ping();
  const micros = Number(process.hrtime.bigint() - started) / n / 1000;
  redis.disconnect();
  return micros;
}

/** The round trip moves with the machine's load: the median of three samples. */
export async function redisRoundTripMedianMicros() {
  return median([await redisRoundTripMicros(), await redisRoundTripMicros(), await redisRoundTripMicros()]);
}

export const fmtMicros = (micros) => (micros >= 1000 ? `${(micros / 1000).toFixed(2)} ms` : `${micros.toFixed(1)} µs`);
export const fmtS = (s) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);

/** The line that says what machine (and how loaded) the figures come from. */
export function machineLine(loadBefore, quick) {
  const la = (l) => l.map((x) => x.toFixed(2)).join(' / ');
  return `Machine: ${os.cpus().length} CPUs; load average (1/5/15 min) before ${la(loadBefore)}, after ${la(os.loadavg())}${quick ? ' (--quick sizes)' : ''}`;
}

/**
 * bench/<main> with the bench modules it imports (`from <helper> import …`) written in ahead
 * of it, those import lines dropped: a job is one script.
 */
export function selfContainedScript(main, helpers) {
  const read = (name) => readFileSync(path.join(root, 'bench', name), 'utf8');
  const imports = new RegExp(`^from (${helpers.map((name) => name.replace(/\.py$/, '')).join('|')}) import .*$`, 'gm');
  return `${helpers.map(read).join('\n')}\n${read(main).replace(imports, '')}`;
}
