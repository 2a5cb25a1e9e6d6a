import { accessSync, chownSync, constants, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkerConfig } from '../config/worker-config';

/** The cgroup v1 hierarchies a job's ranks are put in: what bounds memory and processes, and what counts CPU time. */
const CONTROLLERS = ['memory', 'pids', 'cpuacct'] as const;
const PARENT = 'mpiaas';
/** Passes of SIGKILL over a job's cgroup before its folder is removed (a fork bomb is bounded by pids.max). */
const KILL_PASSES = 20;

export interface JobLimits {
  /** Memory of all the ranks of the share together (RSS + page cache), bytes. */
  memoryBytes: number;
  /** Processes and threads of all the ranks of the share together. */
  processes: number;
}

/** Which limit of the job its ranks ran into. */
export type LimitHit = 'memory' | 'processes';

/**
 * Whether this worker puts each job's ranks in cgroups of their own: where /sys/fs/cgroup
 * allows, unless RANK_CGROUPS=off. With a rank launcher, the ranks' container is the job's
 * cgroup (one job at a time there).
 */
export function jobCgroupsEnabled(config: Pick<WorkerConfig, 'RANK_CGROUPS' | 'CGROUP_ROOT'>, launcher: unknown): boolean {
  return !launcher && config.RANK_CGROUPS === 'auto' && JobCgroup.available(config.CGROUP_ROOT);
}

/**
 * The cgroups (v1 memory and pids) of one job's share on this worker: every rank process
 * (and whatever it forks) is put in them before the script starts, so the limits hold for
 * the job as a whole, not per rank: four ranks of 1.5 GiB are 6 GiB. Named
 * `mpiaas/w-<worker pid>/<run>`, so a worker starting later can remove what a dead one left.
 */
export class JobCgroup {
  private constructor(
    private readonly dirs: Record<'memory' | 'pids', string> & { cpuacct?: string },
    private readonly quick: boolean,
  ) {}

  /** Whether this machine lets the worker create cgroups (v1 memory and pids mounted rw). */
  static available(root: string): boolean {
    return CONTROLLERS.every((controller) => {
      try {
        accessSync(path.join(root, controller), constants.W_OK);
        return true;
      } catch {
        return false;
      }
    });
  }

  /**
   * `countCpu`: a cpuacct cgroup too, to read the ranks' CPU seconds from (JOB_CPU_SECONDS).
   * `quick`: the host's cgroups favour moves (cgroup-favor-dynmods.ts): the cgroups are made
   * and removed synchronously (see readSmallFile). Otherwise through the thread pool: making
   * or removing a cgroup waits for the kernel's cgroup lock, which a rank joining its cgroups
   * holds for an RCU grace period (14-20 ms), and the worker's loop must not wait with it.
   */
  static async create(
    root: string,
    scratchName: string,
    runId: string,
    limits: JobLimits,
    { owner, countCpu = true, quick = false }: { owner?: { uid: number; gid: number }; countCpu?: boolean; quick?: boolean } = {},
  ): Promise<JobCgroup> {
    const dirs = {} as Record<(typeof CONTROLLERS)[number], string>;
    for (const controller of CONTROLLERS) {
      if (controller === 'cpuacct' && !countCpu) continue;
      const dir = path.join(root, controller, PARENT, scratchName, runId);
      if (quick) mkdirSync(dir, { recursive: true });
      else await mkdir(dir, { recursive: true });
      dirs[controller] = dir;
      // The rank moves itself in (as its own user) before it execs the script.
      if (owner) chownSync(path.join(dir, 'cgroup.procs'), owner.uid, owner.gid);
    }
    writeFileSync(path.join(dirs.memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    writeFileSync(path.join(dirs.pids, 'pids.max'), String(limits.processes));
    return new JobCgroup(dirs, quick);
  }

  /**
   * The command a rank is started through first: it moves itself into the cgroups, then
   * execs the rest (limits, sandbox, interpreter). By absolute path: never the rank's PATH.
   */
  enterCommand(): string[] {
    const files = this.procsFiles();
    const script = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n - 1)); done; exec "$@"';
    return ['/bin/sh', '-c', script, 'mpiaas-cgroup', String(files.length), ...files];
  }

  /** The files a rank writes itself into (one per hierarchy). */
  procsFiles(): string[] {
    return Object.values(this.dirs).map((dir) => path.join(dir, 'cgroup.procs'));
  }

  /**
   * SIGKILLs every process in the cgroups: whatever the job left running, even a daemon that
   * left its process group (it cannot leave the cgroup: only root may move it). Returns how
   * many there were.
   */
  async killAll(): Promise<number> {
    // Until none is left: a process forking at the moment of a pass would escape it.
    let killed = 0;
    for (let pass = 0; pass < KILL_PASSES; pass++) {
      const found = await killMembers(this.dirs.pids);
      if (found === 0) break;
      killed += found;
      await delay(5);
    }
    return killed;
  }

  /** Which limit the ranks ran into, if any (an OOM kill, or a refused fork). */
  async limitHit(): Promise<LimitHit | undefined> {
    const oom = readSmallFile(path.join(this.dirs.memory, 'memory.oom_control'));
    if (/^oom_kill [1-9]/m.test(oom)) return 'memory';
    const events = readSmallFile(path.join(this.dirs.pids, 'pids.events'));
    if (/^max [1-9]/m.test(events)) return 'processes';
    return undefined;
  }

  /** CPU time used so far by the ranks of the share, seconds. */
  async cpuSeconds(): Promise<number> {
    if (!this.dirs.cpuacct) return 0;
    const nanos = await readFile(path.join(this.dirs.cpuacct, 'cpuacct.usage'), 'utf8').catch(() => '0');
    return Number(nanos) / 1e9;
  }

  /** Kills whatever is still in the cgroups and removes them. */
  async destroy(): Promise<void> {
    for (const dir of Object.values(this.dirs)) await removeCgroup(dir, this.quick);
  }
}

/** Removes what workers that no longer exist left under `mpiaas/` (by worker pid), with what is in it. */
export async function removeStaleCgroups(root: string, isStale: (scratchName: string) => boolean): Promise<void> {
  for (const controller of CONTROLLERS) {
    const parent = path.join(root, controller, PARENT);
    const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory() || !isStale(entry.name)) continue;
      const scratch = path.join(parent, entry.name);
      for (const run of await readdir(scratch, { withFileTypes: true }).catch(() => [])) {
        if (run.isDirectory()) await removeCgroup(path.join(scratch, run.name));
      }
      await rmdir(scratch).catch(() => undefined);
    }
  }
}

/** This worker's folder under `mpiaas/` in each hierarchy (its jobs' cgroups are made in them). */
export function workerCgroupDirs(root: string, scratchName: string): string[] {
  return CONTROLLERS.map((controller) => path.join(root, controller, PARENT, scratchName));
}

/** Removes this worker's (empty) folder under `mpiaas/` in each hierarchy, at a clean shutdown. */
export async function removeWorkerCgroups(root: string, scratchName: string): Promise<void> {
  for (const controller of CONTROLLERS) await rmdir(path.join(root, controller, PARENT, scratchName)).catch(() => undefined);
}

/**
 * A cgroup file's text ('' if it cannot be read). Synchronous, as every file operation of a
 * job's set-up and clean-up: a few of them per job on cgroupfs and the worker's own scratch
 * folder take microseconds, while handing each to libuv's thread pool and back cost the worker
 * more CPU than the operation (bench/worker-ab.mjs: 7.20 → 5.86 ms of worker CPU a tiny job).
 */
function readSmallFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** SIGKILLs the processes in one cgroup; returns how many there were. */
async function killMembers(dir: string): Promise<number> {
  const procs = readSmallFile(path.join(dir, 'cgroup.procs')).split('\n').filter(Boolean);
  for (const pid of procs) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  return procs.length;
}

/** A cgroup can only be removed once empty (it usually is by now): kill what is in it, then remove it. */
async function removeCgroup(dir: string, quick = false): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      if (quick) rmdirSync(dir);
      else await rmdir(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (attempt > 0) await delay(20);
      await killMembers(dir);
    }
  }
}
