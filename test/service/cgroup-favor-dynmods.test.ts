// The worker's remount of the host's cgroup2 filesystem with favordynmods, on this host, for
// real: from a mount table where the option is off (the host's own, with it taken out: another
// test's worker may have set it already), it remounts with every option the mount had and the
// host's table then shows it. What it buys, a rank joining its cgroups without waiting for an
// RCU grace period, is measured by bench/cgroup-join.py, not timed here.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupMounts, favorDynamicCgroups } from '../../apps/worker/src/runs/cgroup-favor-dynmods';

const hostMounts = (): ReturnType<typeof cgroupMounts> => cgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
const v2 = hostMounts().find((mount) => mount.fsType === 'cgroup2');
const unsupported = process.getuid?.() !== 0 ? 'needs root' : v2 ? undefined : 'no cgroup2 mount on this host';
if (unsupported) console.warn(`cgroup favordynmods test skipped: ${unsupported}`);

describe.skipIf(unsupported !== undefined)('a root worker that puts ranks in cgroups', () => {
  it('sets favordynmods on the host cgroup2 mount and keeps the options it had', async () => {
    const before = v2!.superOptions.filter((option) => option !== 'favordynmods');
    const withoutIt = readFileSync('/proc/self/mountinfo', 'utf8').replace(/,favordynmods\b/g, '');
    const mountinfo = path.join(mkdtempSync(path.join(tmpdir(), 'mpiaas-mountinfo-')), 'mountinfo');
    writeFileSync(mountinfo, withoutIt);

    const outcome = await favorDynamicCgroups(mountinfo);

    expect(outcome).toEqual({ state: 'turned on', mountPoint: v2!.mountPoint });
    const after = hostMounts().find((mount) => mount.mountPoint === v2!.mountPoint);
    expect(after?.superOptions).toContain('favordynmods');
    expect(after?.superOptions.filter((option) => option !== 'favordynmods')).toEqual(before);
  });

  it('leaves the host as it is once the option is on', async () => {
    await expect(favorDynamicCgroups()).resolves.toMatchObject({ state: 'already on' });
  });
});
