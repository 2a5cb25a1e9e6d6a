import { link, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { diskUsage } from './job-usage-watch';

describe('diskUsage', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts a file with several names once: ranks hand each other large data as hard links', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mpiaas-usage-'));
    await writeFile(path.join(dir, 'data'), randomBytes(1024 * 1024));
    const alone = await diskUsage(dir, 100);
    expect(alone.bytes).toBeGreaterThanOrEqual(1024 * 1024);
    for (const r of [1, 2, 3, 4]) await link(path.join(dir, 'data'), path.join(dir, `data.${r}`));
    expect(await diskUsage(dir, 100)).toEqual({ bytes: alone.bytes, files: 5 });
  });
});
