import { describe, expect, it } from 'vitest';
import { OutputBatcher } from './output-batcher';

describe('OutputBatcher', () => {
  it('stores whole lines and keeps a partial line until it is completed or forced', () => {
    const batcher = new OutputBatcher(1024);
    batcher.push(0, 'stdout', Buffer.from('one\ntw'));
    expect(batcher.take()).toEqual([{ rank: 0, stream: 'stdout', seq: 0, text: 'one\n' }]);
    batcher.push(0, 'stdout', Buffer.from('o\nthree'));
    batcher.push(1, 'stderr', Buffer.from('err\n'));
    expect(batcher.take()).toEqual([
      { rank: 0, stream: 'stdout', seq: 1, text: 'two\n' },
      { rank: 1, stream: 'stderr', seq: 0, text: 'err\n' },
    ]);
    expect(batcher.take(true)).toEqual([{ rank: 0, stream: 'stdout', seq: 2, text: 'three' }]);
  });

  it('drops output past the per-rank cap and says so once', () => {
    const batcher = new OutputBatcher(10);
    batcher.push(2, 'stdout', Buffer.from('12345\n'));
    batcher.push(2, 'stderr', Buffer.from('abcdefgh\n'));
    batcher.push(2, 'stdout', Buffer.from('more\n'));
    const texts = batcher.take(true).map((r) => `${r.stream}:${r.text}`);
    expect(texts).toEqual(['stdout:12345\n', 'stderr:abcd\n[mpiaas: output of rank 2 truncated after 10 bytes]\n']);
    expect(batcher.totalsOf(2)).toEqual({ stdoutBytes: 6, stderrBytes: 4, truncated: true });
    expect(batcher.totalsOf(3).truncated).toBe(false);
  });

  it('stores many small lines of one stream as few large records', () => {
    const batcher = new OutputBatcher(1 << 20, 100);
    for (let i = 0; i < 30; i++) batcher.push(0, 'stdout', Buffer.from(`line ${i.toString().padStart(4, '0')}\n`));
    const records = batcher.take();
    expect(records.length).toBe(3);
    expect(records.map((r) => r.seq)).toEqual([0, 1, 2]);
    expect(records.every((r) => r.text.endsWith('\n') && Buffer.byteLength(r.text) <= 100)).toBe(true);
    expect(records.map((r) => r.text).join('')).toBe(Array.from({ length: 30 }, (_, i) => `line ${i.toString().padStart(4, '0')}\n`).join(''));
  });

  it('splits an endless line into bounded records without breaking a UTF-8 character', () => {
    const batcher = new OutputBatcher(1 << 20, 8);
    batcher.push(0, 'stdout', Buffer.from('aééééééé'));
    const records = batcher.take(true);
    expect(records.map((r) => r.text).join('')).toBe('aééééééé');
    expect(records.every((r) => !r.text.includes('\uFFFD'))).toBe(true);
  });
});
