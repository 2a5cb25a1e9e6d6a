"""Runs one of mpi4py's own test modules on this rank and reports each test's outcome.

Started by scripts/mpi4py-suite.sh as `driver.py TESTDIR MODULE OUTPREFIX [EXCLUDE]`, under
`mpiaas exec` (or mpirun, for the reference numbers).  EXCLUDE is a file of test id patterns
(fnmatch, one a line, `# reason` after it) whose tests are not run.  Every rank writes one `MPI4PY-SUITE` line per
test to OUTPREFIX.rankN (a file, not stdout: the launcher may interleave the ranks' output
mid-line), so the script can count a test as failed when it failed on *any* rank; the
unittest report itself goes to stderr.
"""

import fnmatch
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


def excluded_patterns(path):
    patterns = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                patterns.append(line)
    return patterns


def without(suite, patterns):
    """The suite minus the tests whose id matches one of the patterns."""
    kept = unittest.TestSuite()
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            kept.addTest(without(test, patterns))
        elif not any(fnmatch.fnmatchcase(test.id(), p) for p in patterns):
            kept.addTest(test)
    return kept


def main():
    testdir, module, outprefix = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, testdir)
    from mpi4py import MPI
    rank = MPI.COMM_WORLD.Get_rank()
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    if len(sys.argv) > 4:
        suite = without(suite, excluded_patterns(sys.argv[4]))
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
