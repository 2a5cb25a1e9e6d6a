import { spawnSync } from 'node:child_process';
import { accessSync, constants, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkerConfig } from '../config/worker-config';

/**
 * The absolute path of a system command, found once with the worker's own PATH. The
 * wrapper must never be looked up through a rank's PATH, which the job may set.
 */
export function systemCommand(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function requiredCommand(name: string): string {
  const found = systemCommand(name);
  if (!found) throw new Error(`${name} not found: the worker needs it to confine ranks`);
  return found;
}

/** Where a job's files appear inside the bubblewrap sandbox. */
export const SANDBOX_JOB_DIR = '/job';
/** Where the mpi4py shim appears inside the bubblewrap sandbox. */
export const SANDBOX_SHIM_DIR = '/opt/mpiaas/shim';
/** The job's own temporary directory (mounted at /tmp), inside its working directory. */
export const JOB_TMP_NAME = '.tmp';

/** How one job's ranks are started: the command before the interpreter, and the paths they see. */
export interface RankLaunch {
  wrapper: string[];
  /** The script as the rank's interpreter is given it. */
  script: string;
  /** PYTHONPATH entry of the shim, as the rank sees it. */
  shimPath: string;
  /** The working directory and temporary directory as the rank sees them. */
  home: string;
  tmp: string;
}

export interface BwrapOptions {
  bwrap: string;
  jobDir: string;
  shimDir: string;
  /** Folders outside /usr the interpreter needs (a pyenv install), mounted read-only. */
  interpreterDirs: readonly string[];
  network: boolean;
}

/**
 * The bubblewrap command confining a rank: new user, PID, IPC, UTS, cgroup and (unless
 * `network`) network namespaces; a root of its own holding the system's /usr and /etc
 * read-only, the shim read-only, the job's directory read-write at /job and the job's own
 * temporary directory at /tmp — nothing else of the host (not the checkout, not other jobs,
 * not the worker's /tmp). The rank sees only its own processes, and dies with its launcher.
 * `--new-session` keeps it from pushing input into a terminal.
 */
export function bwrapArgs(options: BwrapOptions): string[] {
  const args = [options.bwrap, '--unshare-all', ...(options.network ? ['--share-net'] : []), '--die-with-parent', '--new-session'];
  args.push(...systemBindArgs(options.interpreterDirs, options.shimDir));
  args.push('--bind', options.jobDir, SANDBOX_JOB_DIR);
  args.push('--bind', path.join(options.jobDir, JOB_TMP_NAME), '/tmp');
  args.push('--chdir', SANDBOX_JOB_DIR, '--');
  return args;
}

/**
 * What every rank sees of the system in the bwrap sandbox (bubblewrap arguments): /usr and
 * /etc read-only, /proc, a minimal /dev, the interpreter's folders and the shim read-only.
 */
export function systemBindArgs(interpreterDirs: readonly string[], shimDir: string): string[] {
  const args = ['--ro-bind', '/usr', '/usr', '--ro-bind', '/etc', '/etc'];
  // Debian's merged /usr: /bin, /lib… are links into /usr; elsewhere they are folders.
  for (const top of ['/bin', '/sbin', '/lib', '/lib64', '/lib32']) {
    const kind = entryKind(top);
    if (kind === 'link') args.push('--symlink', `usr${top}`, top);
    else if (kind === 'dir') args.push('--ro-bind', top, top);
  }
  args.push('--proc', '/proc', '--dev', '/dev');
  for (const dir of interpreterDirs) args.push('--ro-bind', dir, dir);
  args.push('--ro-bind', shimDir, SANDBOX_SHIM_DIR);
  return args;
}

function entryKind(file: string): 'link' | 'dir' | undefined {
  try {
    const stat = lstatSync(file);
    return stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'dir' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How ranks are confined on this worker, decided once at boot:
 * - `bwrap` (Debian's bubblewrap): the sandbox above, plus resource limits (prlimit);
 * - `unshare` (fallback where bubblewrap cannot run): limits and no network only — ranks
 *   then see the host's files and processes (under their own user id when the worker is root);
 * - `launcher`: ranks start in the rank launcher's container (RANK_LAUNCHER_SOCKET), which
 *   is their sandbox; the worker adds the per-rank limits.
 */
export class RankSandbox {
  private constructor(
    readonly kind: 'bwrap' | 'unshare' | 'limits-only' | 'launcher',
    private readonly limits: string[],
    private readonly bwrap: string | undefined,
    private readonly network: boolean,
    private readonly unshareNet: string[],
    private readonly interpreterDirs: string[],
  ) {}

  /** Probes what this kernel allows and returns the strongest sandbox the config accepts. */
  static forConfig(config: WorkerConfig, interpreter: string): RankSandbox {
    const limits = rankLimits(config);
    if (config.RANK_LAUNCHER_SOCKET) return new RankSandbox('launcher', limits, undefined, true, [], []);
    const network = config.RANK_NETWORK === 'host';
    const interpreterDirs = interpreterRoots(interpreter);
    const unshareNet = [requiredCommand('unshare'), '--user', '--net', '--map-current-user', '--'];
    const bwrap = systemCommand('bwrap');
    if (config.RANK_SANDBOX !== 'unshare' && bwrap && bwrapWorks(bwrap, network, interpreterDirs)) {
      return new RankSandbox('bwrap', limits, bwrap, network, unshareNet, interpreterDirs);
    }
    if (config.RANK_SANDBOX === 'bwrap') {
      throw new Error(bwrap ? 'RANK_SANDBOX=bwrap but bubblewrap cannot create its namespaces here' : 'RANK_SANDBOX=bwrap but bwrap is not installed (apt-get install bubblewrap)');
    }
    if (!network && works([...unshareNet, 'true'])) return new RankSandbox('unshare', limits, undefined, network, unshareNet, interpreterDirs);
    if (config.RANK_NETWORK === 'none') {
      throw new Error('RANK_NETWORK=none but this kernel does not allow a network namespace (bwrap or unshare --user --net)');
    }
    return new RankSandbox('limits-only', limits, undefined, network, unshareNet, interpreterDirs);
  }

  /** bubblewrap's path (the bwrap kind only). */
  get bwrapPath(): string | undefined {
    return this.bwrap;
  }

  /** Ranks share the host's network (RANK_NETWORK=host). */
  get hostNetwork(): boolean {
    return this.network;
  }

  /** Folders outside /usr holding the interpreter, bound read-only in the bwrap sandbox. */
  get interpreterFolders(): readonly string[] {
    return this.interpreterDirs;
  }

  /** Whether ranks are kept off the network. */
  get isolatesNetwork(): boolean {
    return this.kind !== 'limits-only' && !this.network;
  }

  /** How to start the ranks of the job whose directory is `jobDir` (its script is script.py there). */
  launch(jobDir: string, scriptName: string, shimDir: string): RankLaunch {
    if (this.kind === 'bwrap' && this.bwrap) {
      return {
        wrapper: [...this.limits, ...bwrapArgs({ bwrap: this.bwrap, jobDir, shimDir, interpreterDirs: this.interpreterDirs, network: this.network })],
        script: scriptName,
        shimPath: SANDBOX_SHIM_DIR,
        home: SANDBOX_JOB_DIR,
        tmp: '/tmp',
      };
    }
    return {
      wrapper: this.kind === 'unshare' ? [...this.unshareNet, ...this.limits] : [...this.limits],
      script: path.join(jobDir, scriptName),
      shimPath: shimDir,
      home: jobDir,
      tmp: path.join(jobDir, JOB_TMP_NAME),
    };
  }
}

/**
 * Per-rank limits, set by prlimit before the interpreter starts. Its path is the worker's:
 * the rank launcher's container runs the same image.
 */
function rankLimits(config: WorkerConfig): string[] {
  return [
    requiredCommand('prlimit'),
    `--as=${config.RANK_MEMORY_BYTES}`,
    `--fsize=${config.RANK_FILE_SIZE_BYTES}`,
    `--nofile=${config.RANK_OPEN_FILES}`,
    '--core=0',
    '--',
  ];
}

/** Folders outside /usr holding the interpreter (e.g. /root/.pyenv/versions/3.11.7). */
function interpreterRoots(interpreter: string): string[] {
  const resolved = path.resolve(interpreter);
  if (resolved.startsWith('/usr/')) return [];
  return [path.dirname(path.dirname(resolved))];
}

function bwrapWorks(bwrap: string, network: boolean, interpreterDirs: string[]): boolean {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-probe-'));
  try {
    mkdirSync(path.join(scratch, JOB_TMP_NAME));
    return works([...bwrapArgs({ bwrap, jobDir: scratch, shimDir: scratch, interpreterDirs, network }), '/usr/bin/true']);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function works(command: string[]): boolean {
  const [file, ...args] = command;
  const probe = spawnSync(file as string, args, { stdio: 'ignore', timeout: 5000 });
  return probe.status === 0;
}
