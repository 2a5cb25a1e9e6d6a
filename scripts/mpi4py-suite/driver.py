"""Runs one of mpi4py's own test modules on this rank and reports each test's outcome.

Started by scripts/mpi4py-suite.sh as `driver.py TESTDIR MODULE OUTPREFIX`, under `mpiaas
exec` (or mpirun, for the reference numbers).  Every rank writes one `MPI4PY-SUITE` line per
test to OUTPREFIX.rankN (a file, not stdout: the launcher may interleave the ranks' output
mid-line), so the script can count a test as failed when it failed on *any* rank; the
unittest report itself goes to stderr.
"""

import io
import sys
import unittest


def outcomes(result):
    """{test id: 'fail' | 'error' | 'skip'}; a test not in it passed."""
    marked = {}
    for test, _ in result.failures:
        marked[test.id()] = 'fail'
    for test, _ in result.errors:
        marked[test.id()] = 'error'
    for test, _ in result.skipped:
        marked[test.id()] = 'skip'
    for test in result.expectedFailures:
        marked[test[0].id()] = 'pass'
    return marked


class Recorder(unittest.TextTestResult):
    """Remembers every test id, so passed tests get a line too."""

    def startTest(self, test):
        super().startTest(test)
        self.seen = getattr(self, 'seen', [])
        self.seen.append(test.id())


def main():
    testdir, module, outprefix = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, testdir)
    from mpi4py import MPI
    rank = MPI.COMM_WORLD.Get_rank()
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    stream = io.StringIO()
    runner = unittest.TextTestRunner(stream=stream, verbosity=1, resultclass=Recorder)
    result = runner.run(suite)
    marked = outcomes(result)
    seen = getattr(result, 'seen', [])
    # Errors on module import (unittest's _FailedTest) never reach startTest.
    seen += [test_id for test_id in marked if test_id not in seen]
    with open('%s.rank%d' % (outprefix, rank), 'w') as out:
        for test_id in seen:
            out.write('MPI4PY-SUITE rank=%d %s %s\n' % (rank, marked.get(test_id, 'pass'), test_id))
    sys.stderr.write('[rank %d] %s' % (rank, stream.getvalue()))


if __name__ == '__main__':
    main()
