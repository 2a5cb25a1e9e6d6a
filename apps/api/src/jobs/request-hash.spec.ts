import { describe, expect, it } from 'vitest';
import { canonicalJson, requestHash } from './request-hash';

describe('requestHash', () => {
  it('ignores key order at every level and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":0,"f":1}]},"b":1}');
    expect(requestHash({ np: 2, env: { B: '1', A: '2' } })).toBe(requestHash({ env: { A: '2', B: '1' }, np: 2 }));
  });

  it('differs when a value does', () => {
    expect(requestHash({ np: 2 })).not.toBe(requestHash({ np: 3 }));
    expect(requestHash({ args: ['a', 'b'] })).not.toBe(requestHash({ args: ['b', 'a'] }));
  });
});
