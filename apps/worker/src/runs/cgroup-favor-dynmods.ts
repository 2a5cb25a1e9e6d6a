import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/**
 * Moving a process into a cgroup (writing its pid to `cgroup.procs`, as every rank does to
 * join its job's cgroups) takes the kernel's cgroup_threadgroup_rwsem for writing. By default
 * that lock favours forks and exits, so each writer first waits for an RCU grace period, holding
 * the kernel's cgroup_mutex meanwhile (no cgroup can be made or removed): 14-20 ms on our
 * 2-core hosts, longer than a `pass` job's whole rank. Measured with nothing else running
 * (bench/cgroup-join.py): the first write of a process 14-19.5 ms, the next ones 0.1 ms.
 *
 * The cgroup mount option `favordynmods` makes the kernel favour such moves instead (0.3 ms),
 * at some cost to forks and exits, which the kernel documents for hosts that move tasks
 * often. It holds for the whole host and, on recent kernels, until reboot even if the option
 * is removed: a worker turns it on only where it manages its ranks' cgroups itself (a host
 * given to it) and CGROUP_FAVOR_DYNMODS is not 'off'.
 */

/** A cgroup filesystem mounted on this host, as /proc/self/mountinfo lists it. */
export interface CgroupMount {
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  /** The mount's own flags (sixth field), e.g. `rw,nosuid,nodev,noexec,relatime`. */
  mountOptions: string[];
  /** The filesystem's own options (the last field), e.g. `rw,nsdelegate`. */
  superOptions: string[];
}

/** What turning the option on needs, from the mounts alone. */
export type FavorDynmodsPlan =
  | { kind: 'on'; mountPoint: string }
  | { kind: 'remount'; mountPoint: string; options: string }
  | { kind: 'unavailable'; why: string };

/** The cgroup mounts in a /proc/self/mountinfo text (mount points with `\040` for spaces decoded). */
export function cgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const [fsType, , superOptions = ''] = after.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const [, , , , mountPoint, mountOptions = ''] = before.split(' ');
    if (!mountPoint) continue;
    mounts.push({
      mountPoint: mountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
      fsType,
      mountOptions: mountOptions.split(',').filter(Boolean),
      superOptions: superOptions.split(',').filter(Boolean),
    });
  }
  return mounts;
}

/**
 * Already on where any cgroup mount shows the option (it is one setting for the host). If not,
 * the cgroup2 mount is remounted with all it had and this option added: a remount sets the
 * mount's flags (ro, nosuid, nodev, noexec, …) and cgroup2's own options at once, so leaving
 * one out would clear it. Cgroup v1 hierarchies cannot change their options once mounted; a
 * host with no cgroup2 mount is left as it is.
 */
export function favorDynmodsPlan(mounts: readonly CgroupMount[]): FavorDynmodsPlan {
  const on = mounts.find((mount) => mount.superOptions.includes('favordynmods'));
  if (on) return { kind: 'on', mountPoint: on.mountPoint };
  const v2 = mounts.find((mount) => mount.fsType === 'cgroup2');
  if (!v2) return { kind: 'unavailable', why: 'no cgroup2 mount to set it on' };
  const flags = v2.mountOptions.filter((option) => option !== 'rw');
  const own = v2.superOptions.filter((option) => option !== 'rw' && option !== 'ro');
  const options = [...new Set(['remount', ...flags, ...own, 'favordynmods'])];
  return { kind: 'remount', mountPoint: v2.mountPoint, options: options.join(',') };
}

/** What the worker found or did, for its start-up log. */
export type FavorDynmodsOutcome = { state: 'already on' | 'turned on'; mountPoint: string } | { state: 'unavailable'; why: string };

/** The cgroup mounts of the mount table at `mountinfoPath`. */
async function readCgroupMounts(mountinfoPath: string): Promise<CgroupMount[]> {
  return cgroupMounts(await readFile(mountinfoPath, 'utf8'));
}

/** Whether the host's cgroups favour moves already, as the mount table shows; never throws. */
export async function favorDynmodsShown(mountinfoPath = '/proc/self/mountinfo'): Promise<boolean> {
  const mounts = await readCgroupMounts(mountinfoPath).catch(() => []);
  return favorDynmodsPlan(mounts).kind === 'on';
}

/** Turns favordynmods on for this host if it is not (see above); never throws. */
export async function favorDynamicCgroups(
  mountinfoPath = '/proc/self/mountinfo',
  remount: (mountPoint: string, options: string) => Promise<void> = mountWithOptions,
): Promise<FavorDynmodsOutcome> {
  let plan: FavorDynmodsPlan;
  try {
    plan = favorDynmodsPlan(await readCgroupMounts(mountinfoPath));
  } catch (error) {
    return { state: 'unavailable', why: `cannot read ${mountinfoPath}: ${(error as Error).message}` };
  }
  if (plan.kind === 'unavailable') return { state: 'unavailable', why: plan.why };
  if (plan.kind === 'on') return { state: 'already on', mountPoint: plan.mountPoint };
  try {
    await remount(plan.mountPoint, plan.options);
  } catch (error) {
    return { state: 'unavailable', why: `mount -o ${plan.options} ${plan.mountPoint}: ${(error as Error).message.trim()}` };
  }
  // The kernel takes the option quietly and ignores it from a cgroup namespace of its own (a
  // container): only the mount table says whether it holds.
  const after = await readCgroupMounts(mountinfoPath).catch(() => []);
  const mount = after.find((candidate) => candidate.mountPoint === plan.mountPoint);
  if (!mount?.superOptions.includes('favordynmods')) {
    return { state: 'unavailable', why: `${plan.mountPoint} was remounted but does not show the option (a cgroup namespace of its own?)` };
  }
  return { state: 'turned on', mountPoint: plan.mountPoint };
}

async function mountWithOptions(mountPoint: string, options: string): Promise<void> {
  // util-linux mount (every host has it), by its path: never the PATH of a root process.
  // Node has no mount(2) of its own.
  await promisify(execFile)('/bin/mount', ['-t', 'cgroup2', '-o', options, 'none', mountPoint], { timeout: 10_000 });
}
