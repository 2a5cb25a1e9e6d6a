import { BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { formatEventId, parseEventId, START } from './event-position';

describe('event ids', () => {
  it('round-trip both positions', () => {
    const position = { transitionId: 12n, logChunkId: 3456n };
    expect(formatEventId(position)).toBe('12.3456');
    expect(parseEventId('12.3456')).toEqual(position);
  });

  it('start from the beginning without Last-Event-ID', () => {
    expect(parseEventId(undefined)).toEqual(START);
    expect(parseEventId('')).toEqual(START);
  });

  it.each(['12', '1.2.3', 'a.b', '-1.2', `${'9'.repeat(19)}.1`])('refuses %s', (id) => {
    expect(() => parseEventId(id)).toThrow(BadRequestException);
  });
});
