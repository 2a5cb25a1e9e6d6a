"""Counts the MPI4PY-SUITE lines of one run: a test counts once, by its worst rank.

Reads the ranks' result files (concatenated) on stdin; prints `pass fail error skip
missing`, where `missing` counts ranks that never reported (a crash, or a deadlock killed
by the timeout), then lists the failing tests on stderr.
"""

import re
import sys

WORST = {'pass': 0, 'skip': 1, 'fail': 2, 'error': 3}


def main():
    size = int(sys.argv[1])
    line_re = re.compile(r'MPI4PY-SUITE rank=(\d+) (pass|fail|error|skip) (\S+)')
    outcome, ranks = {}, set()
    for line in sys.stdin:
        match = line_re.search(line)
        if not match:
            continue
        rank, result, test_id = int(match.group(1)), match.group(2), match.group(3)
        ranks.add(rank)
        if WORST[result] >= WORST[outcome.get(test_id, 'pass')]:
            outcome[test_id] = result
    counts = {name: 0 for name in WORST}
    for result in outcome.values():
        counts[result] += 1
    failing = sorted(t for t, r in outcome.items() if r in ('fail', 'error'))
    print(counts['pass'], counts['fail'], counts['error'], counts['skip'], size - len(ranks))
    for test_id in failing:
        print('  ' + outcome[test_id] + ' ' + test_id, file=sys.stderr)


if __name__ == '__main__':
    main()
