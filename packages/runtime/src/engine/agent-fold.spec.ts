import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHIM_PATH } from '../shim-path';
import { AGENT_FOLD_MAX_BYTES, foldParts, foldPlan, parseFoldSpec } from './agent-fold';

const PYTHON = process.env.MPIAAS_PYTHON ?? '/usr/bin/python3';

interface FoldCase {
  spec: string;
  parts: string[];
  expected: string;
}

/** The shim's own cases: its spec, the parts, and what numpy folds them to (base64). */
function shimCases(): FoldCase[] {
  const stdout = execFileSync(PYTHON, [path.join(SHIM_PATH, 'tests', 'fold_cases.py')], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .toString()
    .trim()
    .split('\n')
    .map((line, index) => {
      try {
        return JSON.parse(line) as FoldCase;
      } catch (error) {
        throw new Error(`fold_cases.py line ${index + 1} (${line.length} characters) is not JSON: ${String(error)}`);
      }
    });
}

/**
 * Whether two results hold the same values, bit for bit, except in which NaN: the sign and
 * payload of a NaN that an operation makes depend on the operand order inside numpy's SIMD
 * loops (x86 returns the first NaN operand), and V8 does not keep them. Neither MPI nor
 * Open MPI defines them; a NaN stays a NaN.
 */
function sameValues(spec: string, a: Buffer, b: Buffer | undefined): boolean {
  if (!b || a.length !== b.length) return false;
  const type = spec.split('/')[1];
  if (type !== 'f8' && type !== 'f4') return a.equals(b);
  const size = type === 'f8' ? 8 : 4;
  for (let at = 0; at < a.length; at += size) {
    const [x, y] = size === 8 ? [a.readDoubleLE(at), b.readDoubleLE(at)] : [a.readFloatLE(at), b.readFloatLE(at)];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!a.subarray(at, at + size).equals(b.subarray(at, at + size))) return false;
  }
  return true;
}

/** A part as a rank's socket reads might cut it: pieces at odd offsets. */
function inPieces(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 7) pieces.push(bytes.subarray(at, at + 7));
  return pieces;
}

describe('agent fold: the agent reduces as the rank would', () => {
  it('matches numpy bit for bit (but for which NaN): every op and type, Open MPI groupings, NaN, signed zeros, overflow', () => {
    const cases = shimCases();
    expect(cases.length).toBeGreaterThan(1500);
    const wrong: string[] = [];
    for (const [index, { spec, parts, expected }] of cases.entries()) {
      const buffers = parts.map((part) => Buffer.from(part, 'base64'));
      // whole parts, and parts in pieces that do not start on an element (copied to align)
      for (const asGiven of [buffers.map((part) => [part]), buffers.map(inPieces)]) {
        const result = foldParts(parseFoldSpec(spec), asGiven);
        if (!sameValues(spec, Buffer.from(expected, 'base64'), result)) wrong.push(`case ${index}: ${spec.slice(0, 60)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the shim asks only for folds the agent can do exactly', () => {
    const script = `
import sys; sys.path.insert(0, ${JSON.stringify(SHIM_PATH)})
from mpi4py import MPI
from mpi4py._agent_fold import fold_field
user = MPI.Op.Create(lambda a, b, t: None)
for op, dt in ((user, MPI.DOUBLE), (MPI.LAND, MPI.INT), (MPI.BOR, MPI.INT), (MPI.MAXLOC, MPI.DOUBLE_INT),
               (MPI.SUM, MPI.C_BOOL), (MPI.SUM, MPI.C_DOUBLE_COMPLEX), (MPI.SUM, MPI.DOUBLE.Create_contiguous(2).Commit())):
    print(fold_field(op, dt, 4, 3, 'allreduce').decode() or '-')
print(fold_field(MPI.SUM, MPI.DOUBLE, 4, 4, 'allreduce').decode())
print(fold_field(MPI.MAX, MPI.INT, 2, 3, 'reduce', 2).decode())
`;
    const lines = execFileSync(PYTHON, ['-c', script]).toString().trim().split('\n');
    expect(lines.slice(0, 7)).toEqual(['-', '-', '-', '-', '-', '-', '-']);
    // np 4, 32 bytes: Open MPI's recursive doubling, ((0+1)+(2+3))
    expect(lines[7]).toBe(',"fold":"sum/f8/4/0-4:0,1,.,2,3,.,."');
    expect(lines[8]).toMatch(/^,"fold":"max\/i4\/2\/0-2:[\d,.]+"$/);
  });

  it('leaves the fold to the ranks when a part is not the size the spec says, or the program does not read every part', () => {
    const plan = parseFoldSpec('sum/f8/2/0-2:0,1,.,2,.');
    const part = (x: number): Buffer[] => [Buffer.from(new Float64Array([x, x]).buffer)];
    expect(foldParts(plan, [part(1), part(2), part(3)])).toEqual(Buffer.from(new Float64Array([6, 6]).buffer));
    expect(foldParts(plan, [part(1), part(2), [Buffer.alloc(8)]])).toBeUndefined();
    expect(foldParts(plan, [part(1), part(2)])).toBeUndefined();
    expect(foldParts(plan, [part(1), part(2), part(3), part(4)])).toBeUndefined();
  });

  it('refuses a spec longer than 64 KiB before reading it', () => {
    const long = `sum/f8/1/0-1:${Array.from({ length: 20_000 }, (_, i) => i).join(',')}`;
    expect(() => foldPlan(long)).toThrow('is longer than 65536');
    expect(() => foldPlan(42)).toThrow('fold must be a string');
  });

  it(`leaves folds of more than ${AGENT_FOLD_MAX_BYTES} bytes to the ranks`, () => {
    const count = AGENT_FOLD_MAX_BYTES / 8 / 2;
    const part = [Buffer.alloc(count * 8)];
    expect(foldParts(parseFoldSpec(`sum/f8/${count}/`), [part, part])).toBeDefined();
    expect(foldParts(parseFoldSpec(`sum/f8/${count}/`), [part, part, part])).toBeUndefined();
  });

  it.each([
    ['sum/f8/2', 'is not op/type/count/ranges'],
    ['avg/f8/2/', "fold op 'avg' is not one of sum, prod, max, min"],
    ['sum/c16/2/', "fold type 'c16' is not one of"],
    ['sum/f8/-1/', "fold count '-1' is not a whole number"],
    ['sum/f8/2/0-3:0,1,.', 'fold range 0-3 is outside 0-2'],
    ['sum/f8/2/0-2:0,.', "fold program '0,.' combines fewer than two values"],
    ['sum/f8/2/0-2:0,1', "fold program '0,1' leaves 2 values, not one"],
    ['sum/f8/2/0-2:0,1,.;x', "fold range 'x' is not first-stop:steps"],
    // ranges must cover the buffer exactly: the result is not cleared before it is written
    ['sum/f8/4/0-2:0,1,.', 'fold ranges end at 2, not at the count 4'],
    ['sum/f8/4/0-1:0,1,.;2-4:0,1,.', 'fold range 2-4 does not start where the one before ends (1)'],
    ['sum/f8/4/0-3:0,1,.;2-4:0,1,.', 'fold range 2-4 does not start where the one before ends (3)'],
    // a part read over and over would have the agent fold (and hold scratch) without bound
    ['sum/f8/4/0-4:0,0,.', "fold program '0,0,.' reads part 0 twice"],
    ['sum/f8/4/0-4:0,1,.,0,1,.,.', "fold program '0,1,.,0,1,.,.' reads part 0 twice"],
    ['constructor/f8/1/', "fold op 'constructor' is not one of"],
    ['sum/constructor/1/', "fold type 'constructor' is not one of"],
  ])('refuses the spec %s', (spec, message) => {
    expect(() => parseFoldSpec(spec)).toThrow(message);
  });
});
