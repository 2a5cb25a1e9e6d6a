import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RankOutputWriter } from './rank-output-writer';

function capture() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const read = (s: PassThrough) => (s.read() as Buffer | null)?.toString() ?? '';
  return { stdout, stderr, read };
}

describe('RankOutputWriter', () => {
  it('never mixes two ranks within a line and tags like mpirun', () => {
    const { stdout, stderr, read } = capture();
    const writer = new RankOutputWriter({ stdout, stderr }, true);
    writer.write(0, 'stdout', Buffer.from('hel'));
    writer.write(1, 'stdout', Buffer.from('other\n'));
    writer.write(0, 'stdout', Buffer.from('lo\nbye\n'));
    writer.write(1, 'stderr', Buffer.from('oops\n'));
    expect(read(stdout)).toBe('[1,1]<stdout>:other\n[1,0]<stdout>:hello\n[1,0]<stdout>:bye\n');
    expect(read(stderr)).toBe('[1,1]<stderr>:oops\n');
  });

  it('shows a line without newline (a prompt) on flush', () => {
    const { stdout, stderr, read } = capture();
    const writer = new RankOutputWriter({ stdout, stderr }, false);
    writer.write(0, 'stdout', Buffer.from('Enter n: '));
    expect(read(stdout)).toBe('');
    writer.flush();
    expect(read(stdout)).toBe('Enter n: ');
  });
});
