// The worker's remount of the host's cgroup2 filesystem with favordynmods, on this host, for
// real: from a mount table where the option is off (the host's own, with it taken out: another
// test's worker may have set it already), it remounts with every option the mount had and the
// host's table then shows it. What it buys, a rank joining its cgroups without waiting for an
// RCU grace period, is measured by bench/cgroup-join.py, not timed here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupMounts, favorDynamicCgroups } from '../../apps/worker/src/runs/cgroup-favor-dynmods';

const hostMounts = (): ReturnType<typeof cgroupMounts> => cgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
const v2 = hostMounts().find((mount) => mount.fsType === 'cgroup2');
const unsupported = process.getuid?.() !== 0 ? 'needs root' : v2 ? undefined : 'no cgroup2 mount on this host';
if (unsupported) console.warn(`cgroup favordynmods test skipped: ${unsupported}`);

describe.skipIf(unsupported !== undefined)('a root worker that puts ranks in cgroups', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it("sets favordynmods on the host's cgroup2 mount, keeping the mount's flags and its options", async () => {
    const before = hostMounts().find((mount) => mount.mountPoint === v2!.mountPoint)!;
    const withoutIt = readFileSync('/proc/self/mountinfo', 'utf8').replace(/,favordynmods\b/g, '');
    const dir = mkdtempSync(path.join(tmpdir(), 'mpiaas-mountinfo-'));
    made.push(dir);
    const mountinfo = path.join(dir, 'mountinfo');
    writeFileSync(mountinfo, withoutIt);

    // Reads the planned table first, then the host's own to check the option holds.
    const outcome = await favorDynamicCgroups(mountinfo, async (mountPoint, options) => {
      await promisify(execFile)('/bin/mount', ['-t', 'cgroup2', '-o', options, 'none', mountPoint]);
      writeFileSync(mountinfo, readFileSync('/proc/self/mountinfo', 'utf8'));
    });

    expect(outcome).toEqual({ state: 'turned on', mountPoint: v2!.mountPoint });
    const after = hostMounts().find((mount) => mount.mountPoint === v2!.mountPoint)!;
    expect(after.superOptions).toContain('favordynmods');
    const without = (options: string[]): string[] => options.filter((option) => option !== 'favordynmods');
    expect(without(after.superOptions)).toEqual(without(before.superOptions));
    expect(after.mountOptions).toEqual(before.mountOptions);
  });

  it('leaves the host as it is where the option is on already', async () => {
    const remounts: string[] = [];
    const dir = mkdtempSync(path.join(tmpdir(), 'mpiaas-mountinfo-'));
    made.push(dir);
    const mountinfo = path.join(dir, 'mountinfo');
    const table = readFileSync('/proc/self/mountinfo', 'utf8');
    writeFileSync(mountinfo, table.includes('favordynmods') ? table : table.replace(/( - cgroup2? \S+ \S+)/, '$1,favordynmods'));
    await expect(favorDynamicCgroups(mountinfo, async (mountPoint) => void remounts.push(mountPoint))).resolves.toMatchObject({ state: 'already on' });
    expect(remounts).toEqual([]);
  });
});
