import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_FILE_MIN_BYTES, AgentFiles } from './agent-files';

const MiB = 1024 * 1024;

/** Bytes seed, seed + 1, … (mod 256) as 64 KiB pieces (as a body arrives from a socket). */
function body(n: number, seed = 0): Buffer[] {
  const whole = Buffer.alloc(n);
  for (let i = 0; i < n; i++) whole[i] = (i + seed) & 0xff;
  const pieces: Buffer[] = [];
  for (let at = 0; at < n; at += 64 * 1024) pieces.push(whole.subarray(at, Math.min(n, at + 64 * 1024)));
  return pieces;
}

/** What a receiver does: read its name as the reference says, then unlink it. */
function read(dir: string, reference: Buffer, rank: number): Buffer {
  const [name, size] = reference.toString().split(' ');
  const mine = path.join(dir, `${name}.${rank}`);
  const data = readFileSync(mine).subarray(0, Number(size));
  unlinkSync(mine);
  return data;
}

describe('AgentFiles: a large bcast the agent leaves several of its ranks in one file', () => {
  let dir: string;
  let files: AgentFiles | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-agent-files-'));
  });

  afterEach(() => {
    files?.close();
    files = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** leave, for a body it takes (a promise), settled. */
  const leave = async (receivers: number[], data: Buffer[]): Promise<Buffer | undefined> => {
    const left = files!.leave(receivers, data);
    expect(left).toBeInstanceOf(Promise);
    return left;
  };

  it('writes the data once, with a name per receiver, readable by each', async () => {
    files = new AgentFiles(dir, 1, 64 * MiB);
    const data = body(3 * MiB + 7);
    const reference = await leave([2, 5], data);
    expect(reference?.toString()).toBe(`.mpiaas-a1-p1 ${3 * MiB + 7}`);
    expect(readdirSync(dir).sort()).toEqual(['.mpiaas-a1-p1', '.mpiaas-a1-p1.2', '.mpiaas-a1-p1.5']);
    expect(statSync(path.join(dir, '.mpiaas-a1-p1')).nlink).toBe(3);
    expect(statSync(path.join(dir, '.mpiaas-a1-p1')).mode & 0o777).toBe(0o644);
    expect(read(dir, reference!, 2).equals(Buffer.concat(data))).toBe(true);
    expect(read(dir, reference!, 5).equals(Buffer.concat(data))).toBe(true);
  });

  it('writes over a file once every receiver has unlinked its name, and takes a new one while a name is left or it is being written', async () => {
    files = new AgentFiles(dir, 0, 64 * MiB);
    const first = (await leave([1, 2], body(MiB)))!;
    read(dir, first, 1);
    const second = (await leave([1, 3], body(MiB, 9)))!;
    expect(second.toString()).toBe(`.mpiaas-a0-p2 ${MiB}`); // rank 2 has not read the first
    read(dir, first, 2);
    read(dir, second, 1);
    read(dir, second, 3);
    const third = (await leave([3, 4], body(MiB / 2, 4)))!;
    expect(third.toString().split(' ')[0]).toMatch(/^\.mpiaas-a0-p[12]$/);
    expect(read(dir, third, 3).equals(Buffer.concat(body(MiB / 2, 4)))).toBe(true);
    // two at once: the second does not take the file the first is writing
    read(dir, third, 4);
    const [a, b] = await Promise.all([leave([1, 2], body(MiB, 1)), leave([1, 2], body(MiB, 2))]);
    expect(a?.toString().split(' ')[0]).not.toBe(b?.toString().split(' ')[0]);
    expect(read(dir, a!, 1).equals(Buffer.concat(body(MiB, 1)))).toBe(true);
    expect(read(dir, b!, 1).equals(Buffer.concat(body(MiB, 2)))).toBe(true);
  });

  it('takes nothing below the threshold, above half its budget, for fewer than two receivers; past its budget the sockets carry it', async () => {
    files = new AgentFiles(dir, 0, 4 * MiB);
    expect(files.leave([1, 2], body(AGENT_FILE_MIN_BYTES - 1))).toBeUndefined();
    expect(files.leave([1, 2], body(2 * MiB + 1))).toBeUndefined();
    expect(files.leave([1], body(MiB))).toBeUndefined();
    expect(await leave([1, 2], body(2 * MiB))).toBeDefined();
    expect(await leave([1, 2], body(2 * MiB))).toBeDefined();
    // both unread: a third would pass the budget
    expect(await leave([1, 2], body(2 * MiB))).toBeUndefined();
    expect(readdirSync(dir).filter((name) => name.split('.').length === 2)).toHaveLength(2);
  });

  it('makes way for a larger file by dropping smaller ones every receiver is done with, only if that makes room', async () => {
    files = new AgentFiles(dir, 0, 4 * MiB);
    const first = (await leave([1, 2], body(1.5 * MiB)))!;
    await leave([1, 2], body(1.5 * MiB)); // unread, as the first
    const small = (await leave([1, 2], body(MiB / 2)))!;
    read(dir, small, 1);
    read(dir, small, 2);
    const unread = ['.mpiaas-a0-p1', '.mpiaas-a0-p1.1', '.mpiaas-a0-p1.2', '.mpiaas-a0-p2', '.mpiaas-a0-p2.1', '.mpiaas-a0-p2.2'];
    // 2 MiB beside 3.5: dropping the free 0.5 is not room enough, so nothing is dropped
    expect(await leave([1, 2], body(2 * MiB))).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual([...unread, '.mpiaas-a0-p3']);
    read(dir, first, 1);
    read(dir, first, 2);
    // the first is free now: it goes, and 2 MiB fit beside the other two
    const big = (await leave([1, 2], body(2 * MiB)))!;
    expect(big.toString()).toBe(`.mpiaas-a0-p4 ${2 * MiB}`);
    expect(readdirSync(dir).sort()).toEqual([...unread.slice(3), '.mpiaas-a0-p3', '.mpiaas-a0-p4', '.mpiaas-a0-p4.1', '.mpiaas-a0-p4.2']);
  });

  it('does not write through a name a rank planted: the data goes through the sockets', async () => {
    symlinkSync('/etc/passwd', path.join(dir, '.mpiaas-a0-p1'));
    files = new AgentFiles(dir, 0, 64 * MiB);
    const before = readFileSync('/etc/passwd');
    expect(await leave([1, 2], body(MiB))).toBeUndefined();
    expect(readFileSync('/etc/passwd').equals(before)).toBe(true);
    // the next name is free
    expect((await leave([1, 2], body(MiB)))?.toString()).toBe(`.mpiaas-a0-p2 ${MiB}`);
  });

  it("gives up a file whose receiver's name is taken, leaving the planted name alone", async () => {
    files = new AgentFiles(dir, 0, 64 * MiB);
    writeFileSync(path.join(dir, '.mpiaas-a0-p1.2'), 'planted');
    expect(await leave([1, 2], body(MiB))).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['.mpiaas-a0-p1.2']);
    expect(readFileSync(path.join(dir, '.mpiaas-a0-p1.2'), 'utf8')).toBe('planted');
  });

  it('writes into the folder it opened even after a rank swapped its path for a link elsewhere', async () => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-elsewhere-'));
    const folder = path.join(dir, 'tmp');
    mkdirSync(folder);
    try {
      files = new AgentFiles(folder, 0, 64 * MiB);
      renameSync(folder, path.join(dir, 'moved'));
      symlinkSync(elsewhere, folder);
      const reference = (await leave([1, 2], body(MiB)))!;
      expect(readdirSync(elsewhere)).toEqual([]);
      expect(read(path.join(dir, 'moved'), reference, 1).equals(Buffer.concat(body(MiB)))).toBe(true);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('counts a file linked by anyone else as not free', async () => {
    files = new AgentFiles(dir, 0, 64 * MiB);
    const first = (await leave([1, 2], body(MiB)))!;
    read(dir, first, 1);
    read(dir, first, 2);
    linkSync(path.join(dir, '.mpiaas-a0-p1'), path.join(dir, 'kept'));
    expect((await leave([1, 2], body(MiB)))?.toString()).toBe(`.mpiaas-a0-p2 ${MiB}`);
    expect(existsSync(path.join(dir, 'kept'))).toBe(true);
  });

  it("once closed takes nothing more, even when another folder gets its descriptor's number, and closes once", async () => {
    files = new AgentFiles(dir, 0, 64 * MiB);
    const writing = files.leave([1, 2], body(MiB));
    files.close();
    expect(await writing).toBeUndefined(); // closed while it was written: not handed out
    const other = mkdtempSync(path.join(os.tmpdir(), 'mpiaas-other-'));
    const next = new AgentFiles(other, 1, 64 * MiB);
    try {
      expect(files.leave([1, 2], body(MiB))).toBeUndefined();
      files.close();
      expect(readdirSync(other)).toEqual([]);
      // the other's descriptor survived the second close
      expect((await next.leave([1, 2], body(MiB)))?.toString()).toBe(`.mpiaas-a1-p1 ${MiB}`);
    } finally {
      next.close();
      rmSync(other, { recursive: true, force: true });
    }
    files = undefined;
  });

  it('cannot be opened on a folder that is a link', () => {
    const link = path.join(dir, 'link');
    symlinkSync(os.tmpdir(), link);
    expect(() => new AgentFiles(link, 0, MiB)).toThrow();
  });
});
