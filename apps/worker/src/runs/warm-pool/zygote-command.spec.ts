import { describe, expect, it } from 'vitest';
import { SANDBOX_SHIM_DIR } from '../rank-sandbox';
import { SANDBOX_ZYGOTE_DIR, ZYGOTE_DIR, zygoteCommand, type ZygoteLayout } from './zygote-command';

const layout: ZygoteLayout = {
  kind: 'bwrap',
  python: '/usr/bin/python3',
  bwrap: '/usr/bin/bwrap',
  shimDir: '/w/.shim-1',
  scratch: '/w/w-7',
  socketPath: '/w/w-7/zygote.sock',
  cgroupRoot: '/sys/fs/cgroup',
  cgroupDirs: ['/sys/fs/cgroup/memory/mpiaas/w-7', '/sys/fs/cgroup/pids/mpiaas/w-7'],
  interpreterDirs: [],
  hostNetwork: false,
  limits: { memoryBytes: 2048, fileSizeBytes: 1024, openFiles: 64 },
  environment: { PATH: '/usr/bin:/bin', HOME: '/job', LANG: 'C.UTF-8' },
};

describe('zygoteCommand', () => {
  const { command, env } = zygoteCommand(layout);
  const mounts = (flag: string): string[][] =>
    command.flatMap((arg, index) => (arg === flag ? [[command[index + 1] as string, command[index + 2] as string]] : []));

  it('starts the zygote with the ranks’ environment and nothing of the worker’s', () => {
    expect(Object.keys(env).sort()).toEqual(['HOME', 'LANG', 'MPIAAS_ZYGOTE_ENVIRON_SPACE', 'PATH', 'PYTHONPATH', 'PYTHONUNBUFFERED']);
    expect(env.PYTHONPATH).toBe(SANDBOX_SHIM_DIR);
  });

  it('runs it in a sandbox of its own: root without a user namespace (to confine ranks), no network, what ranks see of the system', () => {
    expect(command.slice(0, command.indexOf('--ro-bind'))).toEqual([
      '/usr/bin/bwrap',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-net',
      '--cap-add',
      'ALL',
      '--die-with-parent',
      '--new-session',
    ]);
    expect(mounts('--ro-bind')).toEqual(expect.arrayContaining([['/usr', '/usr'], ['/etc', '/etc'], ['/w/.shim-1', SANDBOX_SHIM_DIR], [ZYGOTE_DIR, SANDBOX_ZYGOTE_DIR]]));
    // The worker's job directories and cgroups at their paths, and nothing else writable.
    expect(mounts('--bind')).toEqual([['/w/w-7', '/w/w-7'], ...layout.cgroupDirs.map((dir) => [dir, dir])]);
  });

  it('gives the zygote the ranks’ limits and sandbox', () => {
    const zygote = command.slice(command.indexOf('--') + 1);
    expect(zygote).toEqual([
      '/usr/bin/python3',
      '-u',
      `${SANDBOX_ZYGOTE_DIR}/rank_zygote.py`,
      '--socket',
      '/w/w-7/zygote.sock',
      '--sandbox',
      'bwrap',
      '--jobs-root',
      '/w/w-7',
      '--cgroup-root',
      '/sys/fs/cgroup',
      '--rlimit-as=2048',
      '--rlimit-fsize=1024',
      '--rlimit-nofile=64',
    ]);
  });

  it('runs the unshare sandbox’s zygote on the host, with the host’s shim', () => {
    const unshare = zygoteCommand({ ...layout, kind: 'unshare', hostNetwork: true });
    expect(unshare.command.slice(0, 3)).toEqual(['/usr/bin/python3', '-u', `${ZYGOTE_DIR}/rank_zygote.py`]);
    expect(unshare.command).toContain('--host-network');
    expect(unshare.env.PYTHONPATH).toBe('/w/.shim-1');
  });
});
