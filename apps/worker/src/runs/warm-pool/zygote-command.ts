import path from 'node:path';
import { SANDBOX_SHIM_DIR, systemBindArgs } from '../rank-sandbox';

/** The zygote's Python files (apps/worker/rank-zygote), from src/ or dist/ alike. */
export const ZYGOTE_DIR = path.resolve(__dirname, '..', '..', '..', 'rank-zygote');
/** Where the zygote's files appear in its bwrap sandbox. */
export const SANDBOX_ZYGOTE_DIR = '/opt/mpiaas/zygote';
/** Room left in the zygote's environment for a rank's, as /proc shows it (zygote_sandbox.py). */
const ENVIRON_SPACE_BYTES = 16 * 1024;

export interface ZygoteLayout {
  /** The sandbox every rank enters (RankSandbox's kind). */
  kind: 'bwrap' | 'unshare';
  python: string;
  /** bubblewrap's path (bwrap kind). */
  bwrap?: string;
  /** The mpi4py shim's folder on this host. */
  shimDir: string;
  /** The worker's folder of job directories (only jobs under it are run). */
  scratch: string;
  socketPath: string;
  cgroupRoot: string;
  /** This worker's folders in the cgroup hierarchies (bwrap: the zygote sees only these). */
  cgroupDirs: readonly string[];
  interpreterDirs: readonly string[];
  hostNetwork: boolean;
  limits: { memoryBytes: number; fileSizeBytes: number; openFiles: number };
  /** The ranks' environment before their job's: the zygote starts with it. */
  environment: Record<string, string>;
}

/**
 * How the worker starts its rank zygote: the command and its whole environment (nothing of
 * the worker's: no credential). With bwrap the zygote itself runs in a sandbox holding what
 * ranks see of the system at the same paths (so that modules it imports have the paths ranks
 * see), the worker's job directories and cgroups, with the capabilities it needs to confine
 * ranks (root, no user namespace) and no network.
 */
export function zygoteCommand(layout: ZygoteLayout): { command: string[]; env: Record<string, string> } {
  const script = layout.kind === 'bwrap' ? path.join(SANDBOX_ZYGOTE_DIR, 'rank_zygote.py') : path.join(ZYGOTE_DIR, 'rank_zygote.py');
  const zygote = [
    layout.python,
    '-u',
    script,
    '--socket',
    layout.socketPath,
    '--sandbox',
    layout.kind,
    '--jobs-root',
    layout.scratch,
    '--cgroup-root',
    layout.cgroupRoot,
    `--rlimit-as=${layout.limits.memoryBytes}`,
    `--rlimit-fsize=${layout.limits.fileSizeBytes}`,
    `--rlimit-nofile=${layout.limits.openFiles}`,
    ...(layout.hostNetwork ? ['--host-network'] : []),
    ...layout.interpreterDirs.flatMap((dir) => ['--interpreter-dir', dir]),
  ];
  const env = {
    ...layout.environment,
    PYTHONPATH: layout.kind === 'bwrap' ? SANDBOX_SHIM_DIR : layout.shimDir,
    PYTHONUNBUFFERED: '1',
    MPIAAS_ZYGOTE_ENVIRON_SPACE: ' '.repeat(ENVIRON_SPACE_BYTES),
  };
  if (layout.kind !== 'bwrap') return { command: zygote, env };
  if (!layout.bwrap) throw new Error('the bwrap zygote needs bubblewrap');
  const sandbox = [
    layout.bwrap,
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--cap-add',
    'ALL',
    '--die-with-parent',
    '--new-session',
    ...systemBindArgs(layout.interpreterDirs, layout.shimDir),
    '--ro-bind',
    ZYGOTE_DIR,
    SANDBOX_ZYGOTE_DIR,
    '--bind',
    layout.scratch,
    layout.scratch,
    ...layout.cgroupDirs.flatMap((dir) => ['--bind', dir, dir]),
    // Each rank's root is built there, in a mount namespace of the rank's own.
    '--dir',
    '/newroot',
    '--chdir',
    '/',
    '--',
  ];
  return { command: [...sandbox, ...zygote], env };
}
