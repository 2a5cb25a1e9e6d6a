import { lengthOf, type Pieces } from '../protocol/pieces';

/**
 * A reduction done once by the agent instead of by every rank.
 *
 * An Allreduce travels as an allgather of the members' buffers. Without this, each rank
 * got all N parts and folded them itself: N times the bytes through its socket and N folds
 * of the same data. (A Reduce, folded at its root alone, stays with the ranks: the agent's
 * one thread taking that fold over measured slower.)
 * When the rank's shim can describe its fold (a predefined op on a basic numeric type) it
 * sends the description with its contribution (`fold` in icoll, PROTOCOL.md "Collectives"),
 * and the agent answers with the one folded buffer. The shim then reads it as it is.
 *
 * The spec carries the grouping the shim computed (mpi4py/_grouping.py: Open MPI's order of
 * partial sums), so the agent's result is bit for bit the one the rank would have computed:
 * IEEE binary64 arithmetic is what numpy does for float64, float32 results are rounded
 * from exact or double-rounding-safe binary64 ones, integers wrap as numpy's do, and
 * MAX/MIN treat NaN and signed zeros as numpy's maximum/minimum.
 *
 * Spec: `op/type/count/ranges`, e.g. `sum/f8/3/0-3:0,1,.,2,3,.,.`.
 * - op: sum, prod, max or min; type: f8 f4 i1 i2 i4 i8 u1 u2 u4 u8 (little-endian);
 * - count: elements per part;
 * - ranges: `;`-separated `first-stop:steps`, each a postfix program over parts for the
 *   elements [first, stop) (a part index pushes it, `.` combines the top two, the lower
 *   one as the left operand); empty: a left fold of all parts over the whole buffer.
 * A spec the agent cannot read is refused (the rank's own request was malformed).
 */
export interface FoldPlan {
  op: FoldOp;
  type: FoldType;
  count: number;
  itemsize: number;
  /** null: fold all parts left to right over the whole buffer. */
  ranges: readonly FoldRange[] | null;
}

interface FoldRange {
  first: number;
  stop: number;
  /** Part indexes; COMBINE combines the top two values. */
  steps: readonly number[];
  /** How many parts the program reads, each once; the highest index among them. */
  parts: number;
  maxPart: number;
}

type FoldOp = 'sum' | 'prod' | 'max' | 'min';
type FoldType = 'f8' | 'f4' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8';

const COMBINE = -1;
const OPS: readonly FoldOp[] = ['sum', 'prod', 'max', 'min'];
const ITEMSIZE: Record<FoldType, number> = { f8: 8, f4: 4, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8 };

/**
 * Above this many bytes of contributions the ranks fold for themselves: the agent's one
 * thread serves every rank it hosts, and a fold of this size takes it tens of ms.
 */
export const AGENT_FOLD_MAX_BYTES = 64 * 1024 * 1024;

const plans = new Map<string, FoldPlan>();
const PLANS_KEPT = 256;
/**
 * Open MPI's groupings take at most a few KiB to write out at the sizes the shim describes
 * (the longest, a ring over 63 ranks, 19.5 KB); a longer spec is refused rather than parsed.
 */
const MAX_SPEC_CHARS = 64 * 1024;

/** The plan a spec describes (kept: a job folds the same shapes over and over). Throws if unreadable. */
export function foldPlan(spec: unknown): FoldPlan {
  if (typeof spec !== 'string') throw new Error('fold must be a string');
  if (spec.length > MAX_SPEC_CHARS) throw new Error(`fold spec of ${spec.length} characters is longer than ${MAX_SPEC_CHARS}`);
  let plan = plans.get(spec);
  if (plan) return plan;
  plan = parseFoldSpec(spec);
  if (plans.size >= PLANS_KEPT) plans.clear();
  plans.set(spec, plan);
  return plan;
}

export function parseFoldSpec(spec: string): FoldPlan {
  const [op, type, countText, rangesText, ...rest] = spec.split('/');
  if (rest.length || rangesText === undefined) throw new Error(`fold spec '${spec}' is not op/type/count/ranges`);
  if (!OPS.includes(op as FoldOp)) throw new Error(`fold op '${op}' is not one of ${OPS.join(', ')}`);
  if (!Object.hasOwn(ITEMSIZE, type!)) throw new Error(`fold type '${type}' is not one of ${Object.keys(ITEMSIZE).join(', ')}`);
  const count = wholeNumber(countText!, 'fold count');
  const ranges = rangesText === '' ? null : rangesText.split(';').map((text) => parseRange(text, count));
  // The result is written range by range into memory that is not cleared first: a gap
  // would hand the rank whatever the agent's memory held there.
  let covered = 0;
  for (const range of ranges ?? []) {
    if (range.first !== covered) throw new Error(`fold range ${range.first}-${range.stop} does not start where the one before ends (${covered})`);
    covered = range.stop;
  }
  if (ranges && covered !== count) throw new Error(`fold ranges end at ${covered}, not at the count ${count}`);
  return { op: op as FoldOp, type: type as FoldType, count, itemsize: ITEMSIZE[type as FoldType], ranges };
}

function parseRange(text: string, count: number): FoldRange {
  const match = /^(\d+)-(\d+):([\d.,]+)$/.exec(text);
  if (!match) throw new Error(`fold range '${text}' is not first-stop:steps`);
  const first = wholeNumber(match[1]!, 'range start');
  const stop = wholeNumber(match[2]!, 'range stop');
  if (first > stop || stop > count) throw new Error(`fold range ${first}-${stop} is outside 0-${count}`);
  const steps = match[3]!.split(',').map((step) => (step === '.' ? COMBINE : wholeNumber(step, 'part index')));
  let depth = 0;
  let maxPart = 0;
  // Each part once: the work and the scratch a program needs then stay within N - 1
  // combines of one part's size (a program reading a part over and over could make the
  // agent's one thread fold for minutes).
  const seen = new Set<number>();
  for (const step of steps) {
    if (step === COMBINE) {
      if (depth < 2) throw new Error(`fold program '${match[3]}' combines fewer than two values`);
      depth--;
    } else {
      if (seen.has(step)) throw new Error(`fold program '${match[3]}' reads part ${step} twice`);
      seen.add(step);
      depth++;
      maxPart = Math.max(maxPart, step);
    }
  }
  if (depth !== 1) throw new Error(`fold program '${match[3]}' leaves ${depth} values, not one`);
  return { first, stop, steps, parts: seen.size, maxPart };
}

function wholeNumber(text: string, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new Error(`${what} '${text}' is not a whole number`);
  return value;
}

/**
 * The folded buffer of `parts` (in comm rank order), or undefined when the ranks must fold
 * for themselves: a part of the wrong size (the rank reports the mismatch as mpi4py does),
 * a program that does not read every part (once: parseRange), or more bytes than
 * AGENT_FOLD_MAX_BYTES.
 */
export function foldParts(plan: FoldPlan, parts: readonly Pieces[]): Buffer | undefined {
  const nbytes = plan.count * plan.itemsize;
  if (parts.length === 0 || parts.length * nbytes > AGENT_FOLD_MAX_BYTES) return undefined;
  for (const part of parts) {
    if (lengthOf(part) !== nbytes) return undefined;
  }
  if (plan.ranges?.some((range) => range.parts !== parts.length || range.maxPart >= parts.length)) return undefined;
  const kernel = KERNELS[plan.type];
  const values = parts.map((part) => kernel.view(aligned(part, nbytes, plan.itemsize)));
  const bytes = scratch(nbytes);
  const out = kernel.view(bytes);
  const combine = kernel.combine[plan.op];
  const ranges = plan.ranges ?? [leftFold(parts.length, plan.count)];
  for (const { first, stop, steps } of ranges) {
    if (first === stop) continue;
    const slice = (value: Elements): Elements => kernel.slice(value, first, stop);
    const result = slice(out);
    let resultInUse = false;
    const stack: { value: Elements; scratch: boolean }[] = [];
    for (const step of steps) {
      if (step !== COMBINE) {
        stack.push({ value: slice(values[step]!), scratch: false });
        continue;
      }
      const right = stack.pop()!;
      const left = stack.pop()!;
      // Elementwise, so the result may overwrite an operand that is our own scratch; the
      // first scratch of a range is the result's own slice, which most programs end in.
      let target = left.scratch ? left.value : right.scratch ? right.value : undefined;
      if (!target && !resultInUse) [target, resultInUse] = [result, true];
      target ??= kernel.view(scratch((stop - first) * plan.itemsize));
      combine(target, left.value, right.value);
      stack.push({ value: target, scratch: true });
    }
    const last = stack[0]!.value;
    if (last !== result) result.set(last as Float64Array);
  }
  return bytes;
}

function leftFold(nparts: number, count: number): FoldRange {
  const steps = [0];
  for (let part = 1; part < nparts; part++) steps.push(part, COMBINE);
  return { first: 0, stop: count, steps, parts: nparts, maxPart: nparts - 1 };
}

/**
 * Uncleared memory for n bytes, its start aligned for any element type: Node hands small
 * buffers out of a shared pool at multiples of 8 bytes (fast: a fold of a few elements
 * runs on every collective), larger ones as buffers of their own.
 */
function scratch(n: number): Buffer {
  const buffer = Buffer.allocUnsafe(n);
  return buffer.byteOffset % 8 === 0 ? buffer : Buffer.allocUnsafeSlow(n);
}

/** The part as one run of bytes a typed array of `itemsize` can view: copied only if it must be. */
function aligned(part: Pieces, nbytes: number, itemsize: number): Uint8Array {
  const only = part.length === 1 ? part[0]! : undefined;
  if (only && only.byteOffset % itemsize === 0) return only;
  const copy = scratch(nbytes);
  let at = 0;
  for (const piece of part) {
    copy.set(piece, at);
    at += piece.length;
  }
  return copy;
}

/*
 * Kernels. A value is a typed array over the elements of a range; 64-bit integers are held
 * as (low, high) 32-bit word pairs, so sums and comparisons run on numbers rather than
 * BigInts (tens of times slower); only their products go through BigInt.
 */
type Elements = Float64Array | Float32Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
type Combine = (out: Elements, a: Elements, b: Elements) => void;
type ArrayType = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Elements;

interface Kernel {
  view(bytes: Uint8Array): Elements;
  slice(value: Elements, first: number, stop: number): Elements;
  combine: Record<FoldOp, Combine>;
}

/**
 * `out[i] = a[i] op b[i]` for every element, compiled as a function of its own so that each
 * loop only ever sees one typed-array type (one shared by all types would be megamorphic).
 * `body(i)` handles the element(s) at index expression i; the loop runs it four times a
 * turn: float64 sums took 1.3 ns an element against 2.6 for the plain loop here (V8 neither
 * unrolls nor vectorises; numpy's SIMD loop takes 0.5).
 */
function loop(body: (i: string) => string, step = 1): Combine {
  const turn = [0, 1, 2, 3].map((k) => body(`(i + ${k * step})`)).join('\n');
  const source = `const n = out.length; let i = 0;
    for (; i + ${4 * step} <= n; i += ${4 * step}) { ${turn} }
    for (; i < n; i += ${step}) { ${body('i')} }`;
  return new Function('out', 'a', 'b', source) as Combine;
}

// numpy's maximum/minimum of floats: a NaN on either side wins; of equal values (0.0 and
// -0.0) the right one, as numpy 1.24 and 2.x do on x86 (on aarch64 numpy's max of the two
// zeros is +0.0 either way: ranks on arm64 would see the sign of a zero differ). A sum or
// product of two values of these types is exact in binary64 (or rounded once, for
// float64), and storing it wraps an integer or rounds a float32 to what numpy computes;
// 32-bit products may pass 2^53, so Math.imul keeps their low bits.
function plainKernel(Type: ArrayType, itemsize: number, kind: 'float' | 'small' | 'int32'): Kernel {
  const nan = kind === 'float' ? ' || x !== x' : '';
  return {
    view: (bytes) => new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / itemsize),
    slice: (value, first, stop) => value.subarray(first, stop),
    combine: {
      sum: loop((i) => `out[${i}] = a[${i}] + b[${i}];`),
      prod: loop((i) => (kind === 'int32' ? `out[${i}] = Math.imul(a[${i}], b[${i}]);` : `out[${i}] = a[${i}] * b[${i}];`)),
      max: loop((i) => `{ const x = a[${i}], y = b[${i}]; out[${i}] = x > y${nan} ? x : y; }`),
      min: loop((i) => `{ const x = a[${i}], y = b[${i}]; out[${i}] = x < y${nan} ? x : y; }`),
    },
  };
}

/** 64-bit integers as Uint32Array word pairs (little-endian: low word first). */
function wideKernel(signed: boolean): Kernel {
  const high = signed ? '| 0' : '';
  const pick = (cmp: '>' | '<'): Combine =>
    loop(
      (i) => `{ const ah = a[${i} + 1] ${high}, bh = b[${i} + 1] ${high};
        const s = ah ${cmp} bh || (ah === bh && a[${i}] ${cmp} b[${i}]) ? a : b;
        const low = s[${i}]; out[${i} + 1] = s[${i} + 1]; out[${i}] = low; }`,
      2,
    );
  const Big = signed ? BigInt64Array : BigUint64Array;
  return {
    view: (bytes) => new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
    slice: (value, first, stop) => value.subarray(first * 2, stop * 2),
    combine: {
      // the high word is stored modulo 2^32: the wrap numpy's int64 has
      sum: loop((i) => `{ const low = a[${i}] + b[${i}]; out[${i} + 1] = a[${i} + 1] + b[${i} + 1] + (low > 0xffffffff ? 1 : 0); out[${i}] = low; }`, 2),
      prod: (out, a, b) => {
        const [o, x, y] = [out, a, b].map((v) => new Big(v.buffer as ArrayBuffer, v.byteOffset, v.length / 2));
        for (let i = 0; i < o!.length; i++) o![i] = x![i]! * y![i]!; // stored modulo 2^64
      },
      max: pick('>'),
      min: pick('<'),
    },
  };
}

const KERNELS: Record<FoldType, Kernel> = {
  f8: plainKernel(Float64Array, 8, 'float'),
  f4: plainKernel(Float32Array, 4, 'float'),
  i1: plainKernel(Int8Array, 1, 'small'),
  i2: plainKernel(Int16Array, 2, 'small'),
  i4: plainKernel(Int32Array, 4, 'int32'),
  u1: plainKernel(Uint8Array, 1, 'small'),
  u2: plainKernel(Uint16Array, 2, 'small'),
  u4: plainKernel(Uint32Array, 4, 'int32'),
  i8: wideKernel(true),
  u8: wideKernel(false),
};

const folded = new WeakMap<readonly (readonly Pieces[])[], Map<string, Buffer | undefined>>();

/**
 * foldParts of every member's (first) part, computed once per collective and spec however
 * many of this agent's ranks ask: `all` is the one array the rendezvous hands each of them.
 */
export function foldOnce(spec: string, plan: FoldPlan, all: readonly (readonly Pieces[])[]): Buffer | undefined {
  let bySpec = folded.get(all);
  if (!bySpec) folded.set(all, (bySpec = new Map()));
  if (bySpec.has(spec)) return bySpec.get(spec);
  const result = foldParts(plan, Array.from(all, (parts) => parts?.[0] ?? []));
  bySpec.set(spec, result);
  return result;
}
