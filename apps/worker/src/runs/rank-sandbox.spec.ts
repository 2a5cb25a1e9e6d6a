import { describe, expect, it } from 'vitest';
import { bwrapArgs, SANDBOX_JOB_DIR, SANDBOX_SHIM_DIR } from './rank-sandbox';

describe('bwrapArgs', () => {
  const args = bwrapArgs({ bwrap: '/usr/bin/bwrap', jobDir: '/w/w-1/job-abc', shimDir: '/w/.shim-1', interpreterDirs: ['/opt/py'], network: false });
  const mounts = (flag: string): string[][] =>
    args.flatMap((arg, index) => (arg === flag ? [[args[index + 1] as string, args[index + 2] as string]] : []));

  it('unshares every namespace, the network too, and ties the rank to its launcher', () => {
    expect(args.slice(0, 4)).toEqual(['/usr/bin/bwrap', '--unshare-all', '--die-with-parent', '--new-session']);
    expect(args).not.toContain('--share-net');
  });

  it('mounts the system read-only and nothing of the host but the job, the shim and the interpreter', () => {
    expect(mounts('--ro-bind')).toEqual(
      expect.arrayContaining([
        ['/usr', '/usr'],
        ['/etc', '/etc'],
        ['/opt/py', '/opt/py'],
        ['/w/.shim-1', SANDBOX_SHIM_DIR],
      ]),
    );
    expect(mounts('--bind')).toEqual([
      ['/w/w-1/job-abc', SANDBOX_JOB_DIR],
      ['/w/w-1/job-abc/.tmp', '/tmp'],
    ]);
    expect(args.slice(-3)).toEqual(['--chdir', SANDBOX_JOB_DIR, '--']);
  });

  it('keeps the network only when asked', () => {
    expect(bwrapArgs({ bwrap: 'b', jobDir: '/j', shimDir: '/s', interpreterDirs: [], network: true })).toContain('--share-net');
  });
});
