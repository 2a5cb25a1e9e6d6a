import { describe, expect, it } from 'vitest';
import { P2PMatcher, type IncomingMessage } from './p2p-matcher';

const msg = (source: number, tag: number, text: string, ctx = 'w'): IncomingMessage => ({
  ctx,
  source,
  tag,
  body: [Buffer.from(text)],
  bytes: text.length,
  senderWorld: source,
});

describe('P2PMatcher', () => {
  it('gives a receive the oldest matching message (non-overtaking)', () => {
    const matcher = new P2PMatcher();
    matcher.arrive(msg(1, 5, 'first'));
    matcher.arrive(msg(1, 5, 'second'));
    expect(matcher.post({ req: 1, ctx: 'w', source: 1, tag: 5 })?.body[0]?.toString()).toBe('first');
    expect(matcher.post({ req: 2, ctx: 'w', source: 1, tag: 5 })?.body[0]?.toString()).toBe('second');
  });

  it('matches posted receives in the order they were posted', () => {
    const matcher = new P2PMatcher();
    expect(matcher.post({ req: 1, ctx: 'w', source: -1, tag: -1 })).toBeUndefined();
    expect(matcher.post({ req: 2, ctx: 'w', source: 0, tag: 3 })).toBeUndefined();
    expect(matcher.arrive(msg(0, 3, 'a'))?.req).toBe(1);
    expect(matcher.arrive(msg(0, 3, 'b'))?.req).toBe(2);
  });

  it('lets a tag-specific receive skip other tags and keeps contexts apart', () => {
    const matcher = new P2PMatcher();
    matcher.arrive(msg(0, 1, 'tag1'));
    matcher.arrive(msg(0, 2, 'dup-ctx', 'w.0d'));
    matcher.arrive(msg(0, 2, 'tag2'));
    expect(matcher.post({ req: 1, ctx: 'w', source: 0, tag: 2 })?.body[0]?.toString()).toBe('tag2');
    expect(matcher.post({ req: 2, ctx: 'w.0d', source: -1, tag: -1 })?.body[0]?.toString()).toBe('dup-ctx');
    expect(matcher.probe('w', -1, -1)?.body[0]?.toString()).toBe('tag1');
  });

  it('cancels only receives that are still posted', () => {
    const matcher = new P2PMatcher();
    matcher.post({ req: 7, ctx: 'w', source: 1, tag: 0 });
    expect(matcher.cancel(7)).toBe(true);
    expect(matcher.cancel(7)).toBe(false);
    expect(matcher.arrive(msg(1, 0, 'x'))).toBeUndefined();
  });
});
