import { describe, expect, it } from 'vitest';
import { buildJobProfile, collectiveDurations, parseRankProfile, type RankProfile } from './profile';

const rank = (r: number, ops: RankProfile['ops'], wallNs = 10e6): RankProfile => ({
  rank: r,
  wallNs,
  mpiNs: ops.reduce((sum, op) => sum + op.ns, 0),
  ops,
});
const op = (name: string, calls: number, bytes: number, ns: number, waitNs: number, hist: [number, number][] = []) => ({ op: name, calls, bytes, ns, waitNs, hist });

describe('job profile', () => {
  it('sums calls and bytes over ranks, min/avg/max of each rank’s time, 0 for a rank that never called the op', () => {
    const profile = buildJobProfile([
      rank(1, [op('Bcast', 10, 0, 3e6, 2e6)]),
      rank(0, [op('Bcast', 10, 1000, 1e6, 0), op('send', 1, 18, 5e3, 0)]),
      rank(2, [op('Bcast', 10, 0, 2e6, 1e6)]),
    ]);
    expect(profile?.ops).toEqual([
      { op: 'Bcast', calls: 30, bytes: 1000, timeMs: { min: 1, avg: 2, max: 3 }, waitMs: { min: 0, avg: 1, max: 2 } },
      { op: 'send', calls: 1, bytes: 18, timeMs: { min: 0, avg: 0.002, max: 0.005 }, waitMs: { min: 0, avg: 0, max: 0 } },
    ]);
    expect(profile?.ranks).toEqual([
      { rank: 0, wallMs: 10, mpiMs: 1.005 },
      { rank: 1, wallMs: 10, mpiMs: 3 },
      { rank: 2, wallMs: 10, mpiMs: 2 },
    ]);
    expect(buildJobProfile([])).toBeUndefined();
  });

  it('takes a rank’s report as long as it is well formed, and bounds it', () => {
    const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
    expect(parseRankProfile(Buffer.from('{'))).toBeUndefined();
    expect(parseRankProfile(body({ ops: [] }))).toBeUndefined();
    const parsed = parseRankProfile(
      body({
        wallNs: 100,
        mpiNs: 500,
        ops: [op('Barrier', 2, 0, 40, 90, [[5, 2]]), { op: 'x'.repeat(65), calls: 1, bytes: 0, ns: 1, waitNs: 0 }, { op: 'recv', calls: -1 }],
      }),
    );
    expect(parsed).toEqual({ wallNs: 100, mpiNs: 100, ops: [op('Barrier', 2, 0, 40, 40, [[5, 2]])] });
  });

  it('gives Prometheus the collective calls by duration bucket', () => {
    const durations = collectiveDurations([rank(0, [op('allreduce', 5, 0, 1, 0, [[20, 4], [21, 1]]), op('send', 3, 0, 1, 0, [[10, 3]])])]);
    expect(durations).toEqual([
      ['allreduce', (0.75 * 2 ** 20) / 1e9, 4],
      ['allreduce', (0.75 * 2 ** 21) / 1e9, 1],
    ]);
  });
});
