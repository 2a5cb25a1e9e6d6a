import { once } from 'node:events';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { ForkedRanks, forkable } from './launch/rank-forker';
import { RankProcess, type RankExit, type RankHandle, type RankSpawner, type RankSpawnOptions } from './launch/rank-process';
import { rankSpawnOptions, type RankStartOptions } from './launch/rank-spawn-options';

export type { RankStartOptions } from './launch/rank-spawn-options';
export { roundRobinPlacement } from './redis/placement';

/**
 * Ranks started before their agent exists, for `mpiaas exec`: the interpreter boots, imports
 * the shim and forks them while the launcher loads the runtime and connects to Redis (~0.1 s
 * of a short job), instead of after. A rank's first call simply waits in its socket until the
 * agent attaches. Light on purpose: this entry point loads no Redis client.
 */
export interface EarlyRanks {
  /**
   * Give to runJob/runAgentShare as `spawnRank`: hands over the early rank whose start
   * options are exactly those asked for, and starts any other afresh.
   */
  spawnRank: RankSpawner;
  /** Kills the early ranks nobody took (the job could not start). */
  discard(): void;
}

/**
 * From this many ranks on, forking them from one interpreter is faster. Below, the forker's
 * own start and imports, which come before any rank's, cost about what they save: hello.py
 * forked / an interpreter per rank (bench/exec-start.mjs, 2 cores, medians of 11; four
 * runs, 2026-12-06 ~23:50 to 2026-12-07 01:02 UTC): np 1 1.06–1.12x, np 2 0.82–1.05x, np 3
 * 0.85–1.11x, np 4 0.85–0.99x, np 8 0.78–0.90x.
 */
const FORK_FROM_RANKS = 4;

/** When ranks are forked from one interpreter: from FORK_FROM_RANKS ranks on, at any number, or never. */
export type ForkRanks = 'auto' | 'always' | 'never';

/**
 * Starts every rank of `placement` (each with the options of the agent `placement` gives it):
 * forked from one warm interpreter (ForkedRanks) as `fork` says, if they can all be forked
 * alike; else as an interpreter each.
 */
export function startRanksEarly(options: Omit<RankStartOptions, 'agent'>, fork: ForkRanks = 'auto'): EarlyRanks {
  const early = new Map<number, { options: RankSpawnOptions; handle: RankHandle }>();
  const all = options.placement.map((agent, rank) => rankSpawnOptions({ ...options, agent }, rank));
  const wanted = fork === 'always' || (fork === 'auto' && all.length >= FORK_FROM_RANKS);
  const forked = wanted && forkable(all) ? new ForkedRanks(all).handles : undefined;
  all.forEach((spawnOptions, rank) => {
    const handle = forked?.[rank] ?? new RankProcess(spawnOptions);
    early.set(rank, { options: spawnOptions, handle: new HeldOutputRank(handle) });
  });
  return {
    spawnRank: (asked) => {
      const started = early.get(asked.rank);
      early.delete(asked.rank);
      if (started && isDeepStrictEqual(withoutStdin(started.options), withoutStdin(asked)) && started.options.stdin === asked.stdin) {
        return started.handle;
      }
      started?.handle.kill('SIGKILL');
      return new RankProcess(asked);
    },
    discard: () => {
      for (const { handle } of early.values()) handle.kill('SIGKILL');
      early.clear();
    },
  };
}

function withoutStdin(options: RankSpawnOptions): Omit<RankSpawnOptions, 'stdin'> {
  const rest = { ...options };
  delete rest.stdin;
  return rest;
}

/**
 * A rank started before anyone reads its output: Node discards a child's unread output once
 * it exits (it resumes the streams), and a rank that prints and exits without calling MPI
 * can do so before its agent attaches. Its stdout and stderr are held here until read.
 */
class HeldOutputRank implements RankHandle {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly closed: Promise<void>;

  constructor(private readonly rank: RankHandle) {
    this.stdout = hold(rank.stdout);
    this.stderr = hold(rank.stderr);
    const ended = [this.stdout, this.stderr].map((stream) => (stream ? once(stream, 'end').then(() => undefined, () => undefined) : undefined));
    this.closed = Promise.all([rank.closed, ...ended]).then(() => undefined);
  }

  get channel(): Duplex {
    return this.rank.channel;
  }

  get exited(): Promise<RankExit> {
    return this.rank.exited;
  }

  get exit(): RankExit | undefined {
    return this.rank.exit;
  }

  get running(): boolean {
    return this.rank.running;
  }

  kill(signal: NodeJS.Signals): void {
    this.rank.kill(signal);
  }

  killGroup(signal: NodeJS.Signals): void {
    this.rank.killGroup(signal);
  }
}

function hold(stream: Readable | null): Readable | null {
  if (!stream) return null;
  const held = new PassThrough();
  stream.pipe(held);
  return held;
}
