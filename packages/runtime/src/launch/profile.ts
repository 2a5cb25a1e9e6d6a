/**
 * The MPI profile of a job (IPM/mpiP-like): each rank's shim times its MPI calls and sends
 * its totals with `finalize` (the `profile` frame, PROTOCOL.md); the agent keeps them per
 * rank, shares carry them to the job's leader, and buildJobProfile sums them up per op.
 */

/** One op's totals on one rank, as the shim sends them. */
export interface RankOpReport {
  /** The call as the user made it: `Bcast`, `reduce`, `Wait`… */
  op: string;
  calls: number;
  /** Payload bytes this rank handed to the transport in these calls. */
  bytes: number;
  /** Nanoseconds in these calls. */
  ns: number;
  /** The part of `ns` spent waiting for the last member of a collective to arrive. */
  waitNs: number;
  /** Calls by duration: [b, n] = n calls that took [2^(b-1), 2^b) ns. */
  hist: [number, number][];
}

/** The body of a rank's `profile` frame. */
export interface RankProfileReport {
  /** From the import of mpi4py.MPI (MPI_Init) to Finalize. */
  wallNs: number;
  mpiNs: number;
  ops: RankOpReport[];
}

/** A rank's profile, as a share reports it. */
export interface RankProfile extends RankProfileReport {
  rank: number;
}

export interface MinAvgMax {
  min: number;
  avg: number;
  max: number;
}

/** What GET /jobs/{id}/profile serves. */
export interface JobProfile {
  /** Per op, sorted by the most time spent: calls and bytes are totals over all ranks; the
   * times are each rank's total in that op, min/avg/max over the ranks that reported. */
  ops: { op: string; calls: number; bytes: number; timeMs: MinAvgMax; waitMs: MinAvgMax }[];
  ranks: { rank: number; wallMs: number; mpiMs: number }[];
}

const MAX_OPS = 256;
const MAX_OP_NAME = 64;

const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;

/** The shim's `profile` body, checked (a rank's own bytes: anything malformed is dropped). */
export function parseRankProfile(body: Buffer): RankProfileReport | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { wallNs, mpiNs, ops } = raw as Record<string, unknown>;
  const wall = count(wallNs);
  const mpi = count(mpiNs);
  if (wall === undefined || mpi === undefined || !Array.isArray(ops)) return undefined;
  const parsed: RankOpReport[] = [];
  for (const entry of ops.slice(0, MAX_OPS)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const [calls, bytes, ns, waitNs] = [count(e.calls), count(e.bytes), count(e.ns), count(e.waitNs)];
    if (typeof e.op !== 'string' || e.op.length === 0 || e.op.length > MAX_OP_NAME) continue;
    if (calls === undefined || bytes === undefined || ns === undefined || waitNs === undefined) continue;
    const hist = Array.isArray(e.hist)
      ? e.hist.filter((pair): pair is [number, number] => Array.isArray(pair) && pair.length === 2 && count(pair[0]) !== undefined && count(pair[1]) !== undefined && pair[0] <= 64)
      : [];
    parsed.push({ op: e.op, calls, bytes, ns, waitNs: Math.min(waitNs, ns), hist });
  }
  return { wallNs: wall, mpiNs: Math.min(mpi, wall), ops: parsed };
}

const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;

function spread(values: readonly number[]): MinAvgMax {
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
    sum += value;
  }
  return { min: ms(values.length ? min : 0), avg: ms(values.length ? sum / values.length : 0), max: ms(max) };
}

/** The job's profile from its ranks' reports; undefined when no rank sent one. */
export function buildJobProfile(profiles: readonly RankProfile[]): JobProfile | undefined {
  if (profiles.length === 0) return undefined;
  const sorted = [...profiles].sort((a, b) => a.rank - b.rank);
  const names = new Set(sorted.flatMap((profile) => profile.ops.map((op) => op.op)));
  const ops = [...names].map((name) => {
    let calls = 0;
    let bytes = 0;
    const time: number[] = [];
    const wait: number[] = [];
    for (const profile of sorted) {
      const op = profile.ops.find((entry) => entry.op === name);
      calls += op?.calls ?? 0;
      bytes += op?.bytes ?? 0;
      // A rank that never made the call spent 0 in it (IPM's min over all tasks).
      time.push(op?.ns ?? 0);
      wait.push(op?.waitNs ?? 0);
    }
    return { op: name, calls, bytes, timeMs: spread(time), waitMs: spread(wait), total: time.reduce((a, b) => a + b, 0) };
  });
  ops.sort((a, b) => b.total - a.total || a.op.localeCompare(b.op));
  return {
    ops: ops.map(({ total: _total, ...op }) => op),
    ranks: sorted.map((profile) => ({ rank: profile.rank, wallMs: ms(profile.wallNs), mpiMs: ms(Math.min(profile.mpiNs, profile.wallNs)) })),
  };
}

/** The blocking collectives, as a script may call them: what mpiaas_collective_seconds counts. */
export const COLLECTIVE_OPS: ReadonlySet<string> = new Set([
  'barrier', 'Barrier', 'bcast', 'Bcast', 'gather', 'Gather', 'Gatherv', 'scatter', 'Scatter', 'Scatterv',
  'allgather', 'Allgather', 'Allgatherv', 'alltoall', 'Alltoall', 'Alltoallv', 'Alltoallw',
  'reduce', 'Reduce', 'allreduce', 'Allreduce', 'scan', 'Scan', 'exscan', 'Exscan',
  'Reduce_scatter', 'Reduce_scatter_block',
]);

/**
 * The collective calls of some ranks' profiles as [op, seconds, calls]: one entry per
 * histogram bucket, `seconds` the middle of the bucket (a call in [2^(b-1), 2^b) ns counts
 * as 0.75·2^b ns), for a Prometheus histogram whose buckets are far coarser than these.
 */
export function collectiveDurations(profiles: readonly RankProfile[]): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (const profile of profiles) {
    for (const op of profile.ops) {
      if (!COLLECTIVE_OPS.has(op.op)) continue;
      for (const [bucket, calls] of op.hist) out.push([op.op, (0.75 * 2 ** bucket) / 1e9, calls]);
    }
  }
  return out;
}
