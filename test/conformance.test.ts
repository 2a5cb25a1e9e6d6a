// Regressions found by running mpi4py's own test suite (test_cco_obj, test_cco_buf,
// test_cco_vec, test_p2p_obj, test_p2p_buf) against mpiaas; scripts/mpi4py-suite.sh runs
// that suite itself, from a copy of mpi4py's test/ directory that is not in this repo.
// The fixtures check themselves and print "rank R ok"; each runs with one agent, with two
// and three (the cross-agent paths through inboxes) and with four and eight (collectives
// through the job's pub/sub channel). The reduction-order fixture is compared bit for bit with
// real Open MPI, so it needs mpirun and Debian's python3-mpi4py, as the differential test.
import { describe, expect, it } from 'vitest';
import { fixture, mpiaasExec } from './support/mpiaas-exec';
import { run, runMpiaas, runMpirun, SETUP_HINT, SYSTEM_PYTHON, splitLines } from './support/mpi-runs';

const LAYOUTS: readonly { np: number; agents: number }[] = [
  { np: 1, agents: 1 },
  { np: 2, agents: 1 },
  { np: 4, agents: 1 },
  // Two agents push their collective bundles to each other's inbox; three meet in Redis
  // (the last to arrive gets every bundle, the others theirs in their inboxes).
  { np: 4, agents: 2 },
  { np: 5, agents: 3 },
  // Four agents and more fan collectives out on the job's pub/sub channel.
  { np: 5, agents: 4 },
  { np: 8, agents: 8 },
];

const SELF_CHECKING = [
  ['conformance_p2p.py', 'own messages and sync-send acks visible to Iprobe/Test at once; irecv(n); [None, 0, T]; MPI.pickle'],
  ['conformance_buffers.py', '[A, count] and [A, (count, displ)] specs; an integer displacement is a stride'],
  ['conformance_derived.py', 'contiguous/vector/indexed_block/resized datatypes packed in Python; ERR_OP, ERR_TYPE'],
  ['conformance_large.py', 'messages over 64 KiB (stored in 512 KiB chunks across agents) to one reader and to many'],
  ['conformance_reductions.py', 'Allreduce/Reduce folded by the agent: SUM/PROD/MAX/MIN of every number type, overflow, NaN, mismatched counts'],
] as const;

function expectEveryRankOk(run: { code: number | null; stdout: string; stderr: string }, np: number): void {
  expect(run.stderr).not.toContain('Error');
  expect(run.code).toBe(0);
  for (let rank = 0; rank < np; rank++) expect(run.stdout).toContain(`rank ${rank} ok`);
}

for (const [name, what] of SELF_CHECKING) {
  describe(`${name}: ${what}`, () => {
    for (const { np, agents } of LAYOUTS) {
      it(`np ${np}, ${agents} agent(s)`, async () => {
        const result = await mpiaasExec(['-n', String(np), '--agents', String(agents), fixture(name)]);
        expectEveryRankOk(result, np);
      });
    }
    it('np 3 with Debian python3 (numpy 1.x)', async () => {
      const result = await mpiaasExec(['-n', '3', '--python', SYSTEM_PYTHON, fixture(name)]);
      expectEveryRankOk(result, 3);
    });
    it('np 4 with every collective through the agent (MPI4PY_SHM_COLLECTIVES=0)', async () => {
      const result = await mpiaasExec(['-n', '4', fixture(name)], { env: { MPI4PY_SHM_COLLECTIVES: '0' } });
      expectEveryRankOk(result, 4);
    });
  });
}

describe('Reduce/Allreduce of float64 add up in the order Open MPI does (small messages)', () => {
  let preflight: Promise<void> | undefined;
  const requireMpirun = (): Promise<void> =>
    (preflight ??= run('mpirun', ['--version'], { timeoutMs: 20_000 }).then((result) => {
      if (result.spawnError || result.code !== 0) {
        throw new Error(`mpirun (Open MPI) is not available; this test compares with it. To fix: ${SETUP_HINT}`);
      }
    }));

  for (const np of [3, 4, 5, 8]) {
    it(`bit-identical sums at np ${np}`, async () => {
      await requireMpirun();
      const script = fixture('conformance_reduce_order.py');
      const [baseline, ours] = await Promise.all([runMpirun(script, np), runMpiaas(script, np, {})]);
      expect(baseline.code, baseline.stderr).toBe(0);
      expect(ours.code, ours.stderr).toBe(0);
      expect(baseline.rankLines.length).toBe(8 + 4 * (np - 1));
      expect(splitLines(ours.stdout)).toEqual(baseline.rankLines);
    }, 100_000);
  }

  it('bit-identical sums at np 4 with every collective through the agent (MPI4PY_SHM_COLLECTIVES=0)', async () => {
    await requireMpirun();
    const script = fixture('conformance_reduce_order.py');
    const [baseline, ours] = await Promise.all([runMpirun(script, 4), runMpiaas(script, 4, { MPI4PY_SHM_COLLECTIVES: '0' })]);
    expect(ours.code, ours.stderr).toBe(0);
    expect(splitLines(ours.stdout)).toEqual(baseline.rankLines);
  }, 100_000);
});
