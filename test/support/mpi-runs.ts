// Helpers of the differential test: run a script under real Open MPI and under mpiaas,
// and compare what the ranks printed.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');
export const CLI_MAIN = path.join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js');

/** The interpreter that has the real mpi4py (Debian's python3-mpi4py) and numpy. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Wall-clock limit of one run (one launcher invocation), ms. */
export const RUN_TIMEOUT_MS = 60_000;

/** How to get the baseline installed; shown whenever it is missing. */
export const SETUP_HINT =
  'run `bash scripts/test.sh` (its ensure_reference_mpi step installs what CI installs), ' +
  'or install it by hand: `apt-get install -y openmpi-bin python3-mpi4py python3-numpy`';

export interface RunResult {
  /** Exit code; null when the process was killed by a signal or never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  spawnError?: string;
  ms: number;
}

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Runs a program to completion and never rejects. Past the timeout it gets SIGTERM (so
 * mpirun and mpiaas can stop their ranks and clean up), and SIGKILL 10 s later.
 */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? RUN_TIMEOUT_MS;
  const started = performance.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const child = execFile(
      file,
      [...args],
      { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        clearTimeout(termTimer);
        clearTimeout(killTimer);
        const errno = error as (NodeJS.ErrnoException & { signal?: NodeJS.Signals | null }) | null;
        const spawnError = typeof errno?.code === 'string' ? `${errno.code}: ${errno.message}` : undefined;
        resolve({
          code: spawnError ? null : child.exitCode,
          signal: child.signalCode,
          stdout,
          stderr,
          timedOut,
          ...(spawnError === undefined ? {} : { spawnError }),
          ms: performance.now() - started,
        });
      },
    );
    const termTimer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    }, timeoutMs);
  });
}

/** Directives in an example's leading comment block: `# mpiaas: key=value`. */
export interface ExampleInfo {
  name: string;
  file: string;
  /** Smallest np the example supports (`# mpiaas: min-np=2`). */
  minNp: number;
  /**
   * Absolute tolerance for decimal numbers in the output (`# mpiaas: float-tolerance=1e-14`),
   * for scripts whose printed floating-point results depend on the order in which the MPI
   * library combines partial sums; undefined means lines must match exactly.
   */
  floatTolerance?: number;
}

export async function listExamples(): Promise<ExampleInfo[]> {
  const names = (await readdir(EXAMPLES_DIR)).filter((name) => name.endsWith('.py')).sort();
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(EXAMPLES_DIR, name);
      const directives = parseDirectives(await readFile(file, 'utf8'));
      const minNp = directives.get('min-np');
      const tolerance = directives.get('float-tolerance');
      const info: ExampleInfo = { name, file, minNp: minNp === undefined ? 1 : Number(minNp) };
      if (tolerance !== undefined) info.floatTolerance = Number(tolerance);
      if (!Number.isInteger(info.minNp) || info.minNp < 1) throw new Error(`${name}: bad min-np ${minNp}`);
      if (info.floatTolerance !== undefined && !(info.floatTolerance >= 0)) {
        throw new Error(`${name}: bad float-tolerance ${tolerance}`);
      }
      return info;
    }),
  );
}

/** Only the comment lines at the top of the file count, so a directive can't hide in code. */
export function parseDirectives(source: string): Map<string, string> {
  const directives = new Map<string, string>();
  for (const line of source.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (!trimmed.startsWith('#')) break;
    const match = /^#\s*mpiaas:\s*([a-z-]+)\s*=\s*(\S+)\s*$/.exec(trimmed);
    if (match?.[1] && match[2]) directives.set(match[1], match[2]);
  }
  return directives;
}

/** Lines of a stream, without the empty string after a final newline. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export interface BaselineResult extends RunResult {
  /** Every line the ranks wrote to stdout, rank by rank, each rank's in order. */
  rankLines: string[];
  /** How many ranks' stdout files mpirun wrote. */
  rankFiles: number;
}

/**
 * Runs the script under real Open MPI. mpirun forwards ranks' output in chunks that can
 * end mid-line, so its merged stdout sometimes splices two ranks' lines together (seen
 * about one run in two at np 8). `--output-filename` makes it also keep each rank's stdout
 * in a file of its own; those files are the baseline.
 */
export async function runMpirun(script: string, np: number, scriptArgs: readonly string[] = []): Promise<BaselineResult> {
  const outputDir = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-diff-'));
  try {
    const result = await run(
      'mpirun',
      ['--oversubscribe', '--output-filename', outputDir, '-np', String(np), SYSTEM_PYTHON, script, ...scriptArgs],
      { env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } },
    );
    const files = await findFiles(outputDir, 'stdout');
    const rankLines: string[] = [];
    for (const file of files) rankLines.push(...splitLines(await readFile(file, 'utf8')));
    return { ...result, rankLines, rankFiles: files.length };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

async function findFiles(dir: string, name: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name === name)
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** Runs the script with the local launcher, `mpiaas exec`, using the real system python. */
export function runMpiaas(
  script: string,
  np: number,
  env: Record<string, string>,
  scriptArgs: readonly string[] = [],
): Promise<RunResult> {
  // The launcher's own --timeout stops the ranks and cleans up the job's Redis keys before
  // the harness's hard limit would kill the launcher itself.
  const launcherTimeoutS = Math.floor((RUN_TIMEOUT_MS - 15_000) / 1000);
  return run(
    process.execPath,
    [CLI_MAIN, 'exec', '--python', SYSTEM_PYTHON, '-n', String(np), '--timeout', String(launcherTimeoutS), script, ...scriptArgs],
    { env: { ...process.env, ...env } },
  );
}

const DECIMAL = /[-+]?\d+\.\d*(?:[eE][-+]?\d+)?/g;

/**
 * Whether two lines say the same thing: identical, or (with a tolerance) identical apart
 * from decimal numbers that differ by at most `tolerance`.
 */
export function linesMatch(expected: string, actual: string, tolerance: number | undefined): boolean {
  if (expected === actual) return true;
  if (tolerance === undefined) return false;
  if (expected.replace(DECIMAL, '#') !== actual.replace(DECIMAL, '#')) return false;
  const a = expected.match(DECIMAL) ?? [];
  const b = actual.match(DECIMAL) ?? [];
  return a.length === b.length && a.every((x, i) => Math.abs(Number(x) - Number(b[i])) <= tolerance);
}

/**
 * The actual lines, sorted, with every line that matches an expected line within the
 * tolerance replaced by that expected line, so `toEqual(sorted expected)` shows only the
 * real differences.
 */
export function alignLines(expected: readonly string[], actual: readonly string[], tolerance: number | undefined): string[] {
  const sortedActual = [...actual].sort();
  if (tolerance === undefined) return sortedActual;
  const unmatched = [...expected].sort();
  return sortedActual
    .map((line) => {
      const index = unmatched.findIndex((candidate) => linesMatch(candidate, line, tolerance));
      if (index < 0) return line;
      const [match] = unmatched.splice(index, 1);
      return match ?? line;
    })
    .sort();
}

/** The last part of a process's stderr, for failure messages. */
export function tail(text: string, chars = 2000): string {
  const trimmed = text.trimEnd();
  return trimmed.length <= chars ? trimmed : `…${trimmed.slice(-chars)}`;
}

export function describeRun(label: string, result: RunResult): string {
  const how = result.spawnError
    ? `could not run (${result.spawnError})`
    : result.timedOut
      ? `timed out after ${Math.round(result.ms)} ms`
      : result.signal
        ? `killed by ${result.signal}`
        : `exit ${result.code}`;
  return `${label}: ${how}, ${Math.round(result.ms)} ms\n--- ${label} stderr ---\n${tail(result.stderr) || '(empty)'}`;
}
