import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Duplex, Readable } from 'node:stream';
import type { RankExit, RankHandle, RankSpawnOptions } from './rank-process';

/** The forker's Python file (packages/runtime/forker), from src/ or dist/ alike. */
export const FORKER_PATH = path.resolve(__dirname, '..', '..', 'forker', 'rank_forker.py');

/** The shim's sitecustomize closes every descriptor above 3 where this is set: the forker holds all ranks'. */
const RANK_ONLY_VARIABLE = 'MPIAAS_PROTOCOL';
/** Descriptors of rank r in the forker: 3 + 3r (stdout), 4 + 3r (stderr), 5 + 3r (channel). */
const FIRST_RANK_FD = 3;
const FDS_PER_RANK = 3;

/**
 * Whether ranks with these options can all be forked from one interpreter (rank_forker.py):
 * the same interpreter, script, arguments and folder, started directly (no wrapper) as the
 * launcher's own user. The launcher of the service starts its ranks otherwise (sandboxed).
 */
export function forkable(ranks: readonly RankSpawnOptions[]): boolean {
  const [first] = ranks;
  if (!first) return false;
  return ranks.every(
    (rank, index) =>
      rank.rank === index &&
      rank.wrapper === undefined &&
      rank.uid === undefined &&
      rank.gid === undefined &&
      rank.python === first.python &&
      rank.script === first.script &&
      rank.cwd === first.cwd &&
      rank.args.length === first.args.length &&
      rank.args.every((arg, i) => arg === first.args[i]) &&
      (index === 0 || rank.stdin === undefined),
  );
}

/**
 * The ranks of `mpiaas exec`, forked by one warm interpreter (packages/runtime/forker): one
 * interpreter's start-up and one import of the shim instead of one per rank, and one fork of
 * the launcher's Node process instead of one per rank. Each rank is a RankHandle as a child
 * process of the launcher would be: its stdout, stderr and channel are pipes of the launcher,
 * handed through the forker; its pid comes as its own report, its exit as the forker's.
 */
export class ForkedRanks {
  readonly handles: ForkedRank[];
  private readonly forker: ChildProcess;

  constructor(ranks: readonly RankSpawnOptions[]) {
    const first = ranks[0] as RankSpawnOptions;
    const forkerEnv = { ...first.env };
    delete forkerEnv[RANK_ONLY_VARIABLE];
    const entries = ranks.flatMap((rank, index) => envDifference(forkerEnv, rank.env).map((setting) => `${index}\t${setting}`));
    const numpy = mentionsNumpy(path.resolve(first.cwd, first.script)) ? ['--numpy'] : [];
    const args = ['-u', FORKER_PATH, ...numpy, String(ranks.length), ...entries, '--', first.script, ...first.args];
    const stdio: StdioOptions = [first.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...ranks.flatMap(() => ['pipe', 'pipe', 'pipe'] as const)];
    // A session of its own, as each rank's: a signal to the launcher's group (Ctrl-C, `timeout`)
    // reaches the launcher alone, which stops the ranks by their groups (RankHandle.kill).
    this.forker = spawn(first.python, args, { cwd: first.cwd, env: forkerEnv, stdio, detached: true });
    // What the forker itself says (it cannot start, say): on the launcher's stderr, through a
    // pipe, so that the forker never holds the launcher's own stderr open.
    this.forker.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    this.handles = ranks.map((_, rank) => new ForkedRank(this.forker, rank));
    if (first.stdin && this.forker.stdin) {
      const stdin = this.forker.stdin;
      stdin.on('error', () => undefined);
      first.stdin.pipe(stdin);
    }
    const reports = createInterface({ input: this.forker.stdout as Readable });
    reports.on('line', (line) => this.onReport(line));
    this.forker.once('error', (error) => this.endAll(`cannot start ${first.python}: ${error.message}\n`));
    // The reports end when the forker does (its ranks never hold them): a rank it has not
    // reported exited by then never ran.
    reports.once('close', () => this.endAll('mpiaas: the rank forker ended before this rank ran\n'));
  }

  private onReport(line: string): void {
    let report: { rank: number; pid?: number; exit?: number | null; signal?: number | null };
    try {
      report = JSON.parse(line) as typeof report;
    } catch {
      return;
    }
    const handle = this.handles[report.rank];
    if (!handle) return;
    if (report.pid !== undefined) handle.started(report.pid);
    else handle.ended(exitOf(report.exit ?? null, report.signal ?? null));
  }

  /**
   * The forker ended (or never started) with ranks it has not reported exited: those it never
   * forked failed to start; those it did are stopped (nobody would reap or report them).
   */
  private endAll(message: string): void {
    for (const handle of this.handles) {
      if (!handle.running) continue;
      if (handle.forked) {
        handle.killGroup('SIGKILL');
        handle.ended({ code: null, signal: 'SIGKILL' });
      } else {
        handle.stderr?.emit('data', Buffer.from(message));
        handle.ended({ code: 127, signal: null });
      }
    }
  }
}

/** One forked rank, as its agent sees it (RankHandle). */
class ForkedRank implements RankHandle {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly channel: Duplex;
  readonly exited: Promise<RankExit>;
  readonly closed: Promise<void>;
  exit: RankExit | undefined;
  private pid: number | undefined;
  /** Signals sent before the rank reported its pid: delivered once it does. */
  private readonly early: NodeJS.Signals[] = [];
  private resolveExit!: (exit: RankExit) => void;

  constructor(forker: ChildProcess, rank: number) {
    const base = FIRST_RANK_FD + FDS_PER_RANK * rank;
    this.stdout = forker.stdio[base] as Readable | null;
    this.stderr = forker.stdio[base + 1] as Readable | null;
    this.channel = forker.stdio[base + 2] as Duplex;
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    const streamsClosed = [this.stdout, this.stderr].map((stream) => (stream ? once(stream, 'close').then(() => undefined, () => undefined) : undefined));
    this.closed = Promise.all([this.exited, ...streamsClosed]).then(() => undefined);
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Whether the rank reported its pid (it was forked and leads its own session). */
  get forked(): boolean {
    return this.pid !== undefined;
  }

  started(pid: number): void {
    this.pid = pid;
    for (const signal of this.early.splice(0)) this.killGroup(signal);
  }

  ended(exit: RankExit): void {
    if (this.exit) return;
    this.exit = exit;
    this.resolveExit(exit);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.killGroup(signal);
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) {
      if (this.running) this.early.push(signal);
      return;
    }
    try {
      process.kill(-this.pid, signal); // its own session and group (rank_forker.py)
    } catch {
      // The group is already gone.
    }
  }
}

/**
 * Whether the script names numpy, for the forker to import it once for all ranks (~0.1 s of
 * CPU each). A guess from its text: a script importing numpy only through another module is
 * still right, just slower; one that names it without importing it costs the forker 0.1 s.
 */
function mentionsNumpy(script: string): boolean {
  try {
    return /\bnumpy\b/.test(readFileSync(script, 'utf8'));
  } catch {
    return false;
  }
}

/** A rank's exit as the forker reports it (a signal by its number), as a RankExit. */
function exitOf(code: number | null, signal: number | null): RankExit {
  if (signal === null) return { code, signal: null };
  const name = Object.entries(os.constants.signals).find(([, number]) => number === signal)?.[0] as NodeJS.Signals | undefined;
  // a signal Node has no name for (a real-time one): the status a shell would give
  return name ? { code: null, signal: name } : { code: 128 + signal, signal: null };
}

/** What a rank's environment sets differently from the forker's: `NAME=VALUE`, or `NAME` where it has none. */
function envDifference(forker: NodeJS.ProcessEnv, rank: NodeJS.ProcessEnv): string[] {
  const settings: string[] = [];
  for (const [name, value] of Object.entries(rank)) if (value !== undefined && forker[name] !== value) settings.push(`${name}=${value}`);
  for (const name of Object.keys(forker)) if (rank[name] === undefined) settings.push(name);
  return settings;
}
