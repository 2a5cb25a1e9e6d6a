import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobWorkspace } from './job-workspace';
import { JOB_TMP_NAME } from './rank-sandbox';

const scratch = (): string => path.join(mkdtempSync(path.join(tmpdir(), 'mpiaas-workspace-')), 'w-1');

describe('JobWorkspace', () => {
  it("makes the job's private folder with its script and its own /tmp", async () => {
    const workspace = await JobWorkspace.create(scratch(), 'job-a', 'print(1)\n');
    expect(path.basename(workspace.dir)).toMatch(/^job-a-/);
    expect(statSync(workspace.dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(workspace.scriptPath, 'utf8')).toBe('print(1)\n');
    expect(statSync(workspace.scriptPath).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(workspace.dir, JOB_TMP_NAME)).isDirectory()).toBe(true);
  });

  it('removes a folder left as it was made, and one a job filled with thousands of files', async () => {
    const root = scratch();
    const small = await JobWorkspace.create(root, 'job-small', 'pass\n');
    mkdirSync(path.join(small.dir, 'output', '0'), { recursive: true });
    writeFileSync(path.join(small.dir, 'output', '0', 'a.txt'), 'a');
    await small.remove();
    expect(existsSync(small.dir)).toBe(false);

    const big = await JobWorkspace.create(root, 'job-big', 'pass\n');
    for (let i = 0; i < 50; i++) {
      mkdirSync(path.join(big.dir, `d${i}`));
      for (let j = 0; j < 40; j++) writeFileSync(path.join(big.dir, `d${i}`, `f${j}`), '');
    }
    await big.remove();
    expect(existsSync(big.dir)).toBe(false);
  });

  it('removes links the job made without following them out of its folder', async () => {
    const root = scratch();
    const outside = mkdtempSync(path.join(tmpdir(), 'mpiaas-outside-'));
    writeFileSync(path.join(outside, 'keep.txt'), 'keep');
    const workspace = await JobWorkspace.create(root, 'job-links', 'pass\n');
    symlinkSync(outside, path.join(workspace.dir, 'to-folder'));
    symlinkSync(path.join(outside, 'keep.txt'), path.join(workspace.dir, JOB_TMP_NAME, 'to-file'));
    await workspace.remove();
    expect(existsSync(workspace.dir)).toBe(false);
    expect(readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it('is removed without complaint when it is gone already', async () => {
    const workspace = await JobWorkspace.create(scratch(), 'job-gone', 'pass\n');
    await workspace.remove();
    await expect(workspace.remove()).resolves.toBeUndefined();
  });
});
