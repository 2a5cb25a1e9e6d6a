import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobWorkspace, removeSmallTree } from './job-workspace';
import { JOB_TMP_NAME } from './rank-sandbox';

const made: string[] = [];
const temporary = (prefix: string): string => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
const scratch = (): string => path.join(temporary('mpiaas-workspace-'), 'w-1');
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

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
    const outside = temporary('mpiaas-outside-');
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

describe('removeSmallTree', () => {
  it('removes a folder of a few entries itself, and leaves a bigger one whole for the thread pool', () => {
    const small = temporary('mpiaas-tree-');
    mkdirSync(path.join(small, 'output', '0'), { recursive: true });
    writeFileSync(path.join(small, 'script.py'), 'pass\n');
    expect(removeSmallTree(small)).toBe(true);
    expect(existsSync(small)).toBe(false);

    const big = temporary('mpiaas-tree-');
    for (let i = 0; i < 40; i++) writeFileSync(path.join(big, `f${i}`), '');
    expect(removeSmallTree(big)).toBe(false);
    expect(readdirSync(big)).toHaveLength(40);
  });

  it('counts entries of nested folders too', () => {
    const nested = temporary('mpiaas-tree-');
    for (let i = 0; i < 8; i++) {
      mkdirSync(path.join(nested, `d${i}`));
      for (let j = 0; j < 4; j++) writeFileSync(path.join(nested, `d${i}`, `f${j}`), '');
    }
    expect(removeSmallTree(nested)).toBe(false);
    expect(readdirSync(nested)).toHaveLength(8);
  });

  it('never reads through a link: a link to a folder is removed as a link', () => {
    const outside = temporary('mpiaas-outside-');
    writeFileSync(path.join(outside, 'keep.txt'), 'keep');
    const tree = temporary('mpiaas-tree-');
    symlinkSync(outside, path.join(tree, 'output'));
    expect(removeSmallTree(tree)).toBe(true);
    expect(readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it('refuses a root that is a link, removing nothing', () => {
    const outside = temporary('mpiaas-outside-');
    writeFileSync(path.join(outside, 'keep.txt'), 'keep');
    const link = path.join(temporary('mpiaas-tree-'), 'job');
    symlinkSync(outside, link);
    expect(removeSmallTree(link)).toBe(false);
    expect(readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep');
  });
});
