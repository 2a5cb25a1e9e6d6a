import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { WorkerConfig } from '../config/worker-config';

/**
 * The absolute path of a system command, found once with the worker's own PATH. The
 * wrapper must never be looked up through a rank's PATH, which the job may set.
 */
function systemCommand(name: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not found (util-linux): the worker needs it to confine ranks`);
}

const UNSHARE_NET = [systemCommand('unshare'), '--user', '--net', '--map-current-user', '--'];

/** Whether this kernel lets us start a process in a network namespace of its own. */
export function canIsolateNetwork(): boolean {
  const probe = spawnSync(UNSHARE_NET[0] as string, [...UNSHARE_NET.slice(1), 'true'], { stdio: 'ignore', timeout: 5000 });
  return probe.status === 0;
}

/**
 * The command every rank's interpreter is started through: resource limits (prlimit), and
 * — where the kernel allows — a network namespace with no interface but loopback, so a
 * script cannot reach Redis, Postgres or anything else; ranks talk only to their agent
 * over the socket they inherit.
 */
export function rankWrapper(config: WorkerConfig, isolateNetwork: boolean): string[] {
  const limits = [
    systemCommand('prlimit'),
    `--as=${config.RANK_MEMORY_BYTES}`,
    `--fsize=${config.RANK_FILE_SIZE_BYTES}`,
    `--nofile=${config.RANK_OPEN_FILES}`,
    '--core=0',
    '--',
  ];
  return isolateNetwork ? [...UNSHARE_NET, ...limits] : limits;
}
