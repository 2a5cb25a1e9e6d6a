import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstEntries } from './first-entries';

describe('firstEntries', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mpiaas-entries-'));
  for (let i = 0; i < 100; i++) writeFileSync(path.join(dir, `f${i}`), '');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists a folder of up to the limit, and says undefined past it', () => {
    expect(firstEntries(dir, 100)?.map((entry) => entry.name).sort()).toHaveLength(100);
    expect(firstEntries(dir, 99)).toBeUndefined();
    expect(firstEntries(dir, 0)).toBeUndefined();
  });

  it('says an empty folder is empty with a limit of 0', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'mpiaas-entries-'));
    expect(firstEntries(empty, 0)).toEqual([]);
    rmSync(empty, { recursive: true });
  });

  it('throws for a folder it cannot open', () => {
    expect(() => firstEntries(path.join(dir, 'missing'), 1)).toThrow(/ENOENT/);
  });
});
