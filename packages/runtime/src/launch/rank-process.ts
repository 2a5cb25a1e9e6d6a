import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex, Readable } from 'node:stream';

export interface RankSpawnOptions {
  rank: number;
  python: string;
  script: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * Command the interpreter is started through, e.g. `['prlimit', '--as=…', '--']` to
   * set limits or `['unshare', '--net', …, '--']` to take the network away.
   */
  wrapper?: readonly string[];
  /** Run the rank as this user and group (needs the privilege to switch; see the worker's RANK_UID). */
  uid?: number;
  gid?: number;
  /** Wire the launcher's stdin to this rank (rank 0 under mpirun); others read /dev/null. */
  stdin?: Readable;
}

/** Exit of a rank: a code, or the signal that killed it. */
export interface RankExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A started rank as its agent sees it: output streams, the channel that is its fd 3, its
 * exit. A child process here (RankProcess) or one started elsewhere on the agent's behalf
 * (the worker's rank launcher in another container).
 */
export interface RankHandle {
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly channel: Duplex;
  /** Resolves when the rank's process exits. */
  readonly exited: Promise<RankExit>;
  /** Resolves when its output streams are drained (or the process could not start). */
  readonly closed: Promise<void>;
  readonly exit: RankExit | undefined;
  readonly running: boolean;
  /** Signals the rank's whole process group, if the rank is still running. */
  kill(signal: NodeJS.Signals): void;
  /** Signals the rank's process group even after the rank itself exited (its leftovers). */
  killGroup(signal: NodeJS.Signals): void;
}

/** Starts one rank; the default starts a child process of the agent (RankProcess). */
export type RankSpawner = (options: RankSpawnOptions) => RankHandle;

/** One running rank: `python3 -u script.py` with its agent channel on fd 3. */
export class RankProcess implements RankHandle {
  readonly child: ChildProcess;
  readonly channel: Duplex;
  /** Resolves when the rank's process exits. */
  readonly exited: Promise<RankExit>;
  /** Resolves when its output streams are drained (or the process could not start). */
  readonly closed: Promise<void>;
  exit: RankExit | undefined;

  constructor(readonly options: RankSpawnOptions) {
    // fd 3 'pipe' is an AF_UNIX socket pair: the rank's only way to its agent.
    const [command, ...args] = rankCommand(options);
    this.child = spawn(command as string, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
      // Its own process group, so a kill reaches whatever the script forked.
      detached: true,
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    this.channel = this.child.stdio[3] as Duplex;
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exit = { code: 127, signal: null };
        this.child.stderr?.emit('data', Buffer.from(`cannot start ${options.python}: ${error.message}\n`));
        resolve(this.exit);
      });
      this.child.once('exit', (code, signal) => {
        this.exit ??= { code, signal };
        resolve(this.exit);
      });
    });
    this.closed = new Promise((resolve) => {
      this.child.once('close', () => resolve());
      this.child.once('error', () => resolve());
    });
    if (options.stdin && this.child.stdin) {
      const stdin = this.child.stdin;
      stdin.on('error', () => undefined);
      options.stdin.pipe(stdin);
    }
  }

  get stdout(): Readable | null {
    return this.child.stdout;
  }

  get stderr(): Readable | null {
    return this.child.stderr;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Signals the rank's whole process group, if the rank is still running. */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.killGroup(signal);
  }

  /** Signals the rank's process group even after the rank itself exited (its leftovers). */
  killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}

/** The command line of a rank: wrapper, interpreter (unbuffered), script and its arguments. */
export function rankCommand(options: RankSpawnOptions): string[] {
  return [...(options.wrapper ?? []), options.python, '-u', options.script, ...options.args];
}
