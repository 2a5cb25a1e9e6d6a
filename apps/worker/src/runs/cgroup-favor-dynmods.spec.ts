import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupMounts, favorDynamicCgroups, favorDynmodsPlan, favorDynmodsShown } from './cgroup-favor-dynmods';

// As a Debian host with both kinds lists them (ours: v1 controllers, cgroup2 beside them).
const MOUNTINFO = [
  '22 27 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '31 23 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '35 31 0:31 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory',
  '36 31 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
].join('\n');

describe('cgroupMounts', () => {
  it('lists the cgroup filesystems with their own options, whatever optional fields come first', () => {
    expect(cgroupMounts(MOUNTINFO)).toEqual([
      { mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', mountOptions: ['rw', 'relatime'], superOptions: ['rw', 'memory'] },
      { mountPoint: '/sys/fs/cgroup/pids', fsType: 'cgroup', mountOptions: ['rw', 'relatime'], superOptions: ['rw', 'pids'] },
      {
        mountPoint: '/sys/fs/cgroup/unified',
        fsType: 'cgroup2',
        mountOptions: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime'],
        superOptions: ['rw', 'nsdelegate', 'memory_recursiveprot'],
      },
    ]);
  });

  it('decodes a mount point with a space in it', () => {
    const [mount] = cgroupMounts('50 31 0:40 / /mnt/my\\040cgroups rw - cgroup2 none rw');
    expect(mount?.mountPoint).toBe('/mnt/my cgroups');
  });
});

describe('favorDynmodsPlan', () => {
  it("remounts cgroup2 keeping the mount's flags and its own options, since a remount sets them all at once", () => {
    expect(favorDynmodsPlan(cgroupMounts(MOUNTINFO))).toEqual({
      kind: 'remount',
      mountPoint: '/sys/fs/cgroup/unified',
      options: 'remount,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot,favordynmods',
    });
  });

  it('keeps a read-only cgroup2 mount read-only', () => {
    const readOnly = MOUNTINFO.replace('/unified rw,nosuid', '/unified ro,nosuid');
    const plan = favorDynmodsPlan(cgroupMounts(readOnly));
    expect(plan.kind === 'remount' && plan.options.split(',')).toContain('ro');
  });

  it('does nothing where any cgroup mount has it already (one setting for the whole host)', () => {
    const on = MOUNTINFO.replace('rw,pids', 'rw,favordynmods,pids');
    expect(favorDynmodsPlan(cgroupMounts(on))).toEqual({ kind: 'on', mountPoint: '/sys/fs/cgroup/pids' });
  });

  it('leaves a host with v1 hierarchies only as it is (their options cannot change once mounted)', () => {
    const v1Only = MOUNTINFO.split('\n').filter((line) => !line.includes('cgroup2')).join('\n');
    expect(favorDynmodsPlan(cgroupMounts(v1Only))).toEqual({ kind: 'unavailable', why: 'no cgroup2 mount to set it on' });
  });
});

describe('favorDynamicCgroups', () => {
  const PLANNED = 'remount,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot,favordynmods';
  const mountinfoFile = (text: string): string => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'mpiaas-mountinfo-')), 'mountinfo');
    writeFileSync(file, text);
    return file;
  };
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const made: string[] = [];
  const tracked = (text: string): string => {
    const file = mountinfoFile(text);
    made.push(path.dirname(file));
    return file;
  };

  it('remounts with the planned options and checks the mount table shows the option', async () => {
    const file = tracked(MOUNTINFO);
    const calls: string[][] = [];
    const outcome = await favorDynamicCgroups(file, async (mountPoint, options) => {
      calls.push([mountPoint, options]);
      writeFileSync(file, MOUNTINFO.replace('memory_recursiveprot', 'memory_recursiveprot,favordynmods'));
    });
    expect(calls).toEqual([['/sys/fs/cgroup/unified', PLANNED]]);
    expect(outcome).toEqual({ state: 'turned on', mountPoint: '/sys/fs/cgroup/unified' });
  });

  it('says so when the kernel took the remount but the option does not show (a cgroup namespace of its own)', async () => {
    const outcome = await favorDynamicCgroups(tracked(MOUNTINFO), async () => undefined);
    expect(outcome).toMatchObject({ state: 'unavailable', why: expect.stringContaining('does not show the option') });
  });

  it('reports a refused remount instead of throwing: the worker runs on without it', async () => {
    const outcome = await favorDynamicCgroups(tracked(MOUNTINFO), async () => {
      throw new Error('mount: permission denied\n');
    });
    expect(outcome).toEqual({ state: 'unavailable', why: `mount -o ${PLANNED} /sys/fs/cgroup/unified: mount: permission denied` });
  });

  it('reports an unreadable mount table', async () => {
    const outcome = await favorDynamicCgroups('/nonexistent/mountinfo');
    expect(outcome.state).toBe('unavailable');
  });
});

describe('favorDynmodsShown', () => {
  it('reads the option off any cgroup mount, and says no for an unreadable table', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpiaas-mountinfo-'));
    const file = path.join(dir, 'mountinfo');
    writeFileSync(file, MOUNTINFO);
    await expect(favorDynmodsShown(file)).resolves.toBe(false);
    writeFileSync(file, MOUNTINFO.replace('rw,pids', 'rw,pids,favordynmods'));
    await expect(favorDynmodsShown(file)).resolves.toBe(true);
    await expect(favorDynmodsShown(path.join(dir, 'none'))).resolves.toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
