// Differential test: every script in examples/ must print the same lines (as a multiset:
// ranks' lines interleave) and exit 0 both under real Open MPI + mpi4py and under
// `mpiaas exec` with our mpi4py shim, at np 1, 2, 3, 4 and 8; and an mpiaas run must leave
// no Redis key behind.
//
// Needs Open MPI and mpi4py for /usr/bin/python3 (CI installs openmpi-bin and
// python3-mpi4py), Redis, and a built CLI (`npm run build`). A missing piece fails every
// case with a message saying what to do: it never skips silently.
//
// Cases run one at a time (the machine has two cores); within a case the mpirun baseline
// and the mpiaas run go side by side.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanKeys } from './support/mpiaas-exec';
import {
  CLI_MAIN,
  REPO_ROOT,
  SETUP_HINT,
  SYSTEM_PYTHON,
  alignLines,
  describeRun,
  listExamples,
  run,
  runMpiaas,
  runMpirun,
  splitLines,
  type RunResult,
} from './support/mpi-runs';

const NPS = [1, 2, 3, 4, 8] as const;
const CASE_TIMEOUT_MS = 100_000;
const REDIS_URL = process.env.MPIAAS_REDIS_URL ?? 'redis://127.0.0.1:6379';

const examples = await listExamples();

/** Checked once, before the first case; every case fails with its message if it fails. */
let preflight: Promise<void> | undefined;
function requireToolchain(): Promise<void> {
  preflight ??= checkToolchain();
  return preflight;
}

async function checkToolchain(): Promise<void> {
  const mpirun = await run('mpirun', ['--version'], { timeoutMs: 20_000 });
  if (mpirun.spawnError || mpirun.code !== 0) {
    throw new Error(
      `mpirun (Open MPI) is not available (${mpirun.spawnError ?? `exit ${mpirun.code}`}); ` +
        `the differential test compares mpiaas against it. To fix: ${SETUP_HINT}`,
    );
  }
  const mpi4py = await run(SYSTEM_PYTHON, ['-c', 'import mpi4py, numpy; from mpi4py import MPI'], {
    timeoutMs: 20_000,
    env: { ...process.env, PYTHONPATH: '' },
  });
  if (mpi4py.spawnError || mpi4py.code !== 0) {
    throw new Error(
      `${SYSTEM_PYTHON} cannot import the real mpi4py and numpy ` +
        `(${mpi4py.spawnError ?? mpi4py.stderr.trim().split('\n').at(-1)}). To fix: ${SETUP_HINT}`,
    );
  }
  if (!existsSync(CLI_MAIN)) {
    throw new Error(`${path.relative(REPO_ROOT, CLI_MAIN)} is missing: run \`npm run build\` first`);
  }
}

let redis: Redis | undefined;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // surfaced by the commands that fail
});

afterAll(async () => {
  redis?.disconnect();
  if (timings.length > 0) printTimings();
});

async function keysWithPrefix(prefix: string): Promise<string[]> {
  if (!redis) throw new Error('no Redis client');
  if (redis.status === 'wait') {
    await redis.connect().catch((error: Error) => {
      throw new Error(`cannot reach Redis at ${REDIS_URL} to check for leftover keys: ${error.message}. Start it with \`bash scripts/setup.sh\``);
    });
  }
  return scanKeys(redis, prefix);
}

interface Timing {
  example: string;
  np: number;
  mpirunMs: number;
  mpiaasMs: number;
}
const timings: Timing[] = [];

function printTimings(): void {
  const sum = (pick: (t: Timing) => number): number => timings.reduce((total, t) => total + pick(t), 0);
  const rows = timings.map(
    (t) => `  ${t.example.padEnd(18)} np ${String(t.np).padStart(2)}  mpirun ${fmt(t.mpirunMs)}  mpiaas ${fmt(t.mpiaasMs)}`,
  );
  console.log(
    [
      `differential: ${timings.length} cases; mpirun ${fmt(sum((t) => t.mpirunMs))} in all, ` +
        `mpiaas ${fmt(sum((t) => t.mpiaasMs))} in all`,
      ...rows,
    ].join('\n'),
  );
}

function fmt(ms: number): string {
  return `${(ms / 1000).toFixed(2).padStart(6)} s`;
}

function exitedCleanly(result: RunResult): boolean {
  return !result.spawnError && !result.timedOut && result.code === 0;
}

describe('examples give the same output under mpirun and mpiaas exec', () => {
  it('finds the examples', () => {
    expect(examples.map((e) => e.name)).toContain('hello.py');
  });

  for (const example of examples) {
    for (const np of NPS) {
      const name = `${example.name} at np ${np}`;
      it.skipIf(np < example.minNp)(name, { timeout: CASE_TIMEOUT_MS }, async () => {
        await requireToolchain();
        const script = path.relative(REPO_ROOT, example.file);
        const prefix = `test:diff:${randomBytes(6).toString('hex')}:`;

        const [baseline, mpiaas] = await Promise.all([
          runMpirun(script, np),
          runMpiaas(script, np, { MPIAAS_REDIS_PREFIX: prefix }),
        ]);
        timings.push({ example: example.name, np, mpirunMs: baseline.ms, mpiaasMs: mpiaas.ms });
        const report = `${describeRun('mpirun', baseline)}\n${describeRun('mpiaas', mpiaas)}`;

        // The baseline itself must be sound, or the comparison means nothing.
        expect(exitedCleanly(baseline), `the mpirun baseline failed\n${report}`).toBe(true);
        expect(baseline.rankFiles, `mpirun kept no per-rank output\n${report}`).toBeGreaterThan(0);

        const expected = [...baseline.rankLines].sort();
        const actual = alignLines(expected, splitLines(mpiaas.stdout), example.floatTolerance);
        expect(actual, `sorted stdout lines differ (- mpirun, + mpiaas)\n${report}`).toEqual(expected);
        expect(exitedCleanly(mpiaas), `mpiaas exec did not exit 0\n${report}`).toBe(true);

        const leftovers = await keysWithPrefix(prefix);
        expect(leftovers, `Redis keys left behind under ${prefix}`).toEqual([]);
      });
    }
  }
});
