import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.dirname(HERE)


class RunAsBatchTest(unittest.TestCase):
    """Run in a child: the policy is the process's own and would outlive the test."""

    def policy_after(self, code):
        out = subprocess.run(
            [sys.executable, '-c', 'import os, sys; sys.path.insert(0, %r)\n%s\n'
             'print(os.sched_getscheduler(0))' % (SHIM, code)],
            check=True, capture_output=True, text=True).stdout
        return int(out)

    def test_puts_the_process_under_sched_batch(self):
        self.assertEqual(self.policy_after('from mpi4py._scheduling import run_as_batch; run_as_batch()'),
                         os.SCHED_BATCH)

    def test_threads_and_children_started_after_inherit_it(self):
        code = ('from mpi4py._scheduling import run_as_batch; run_as_batch()\n'
                'import threading, subprocess\n'
                'seen = []\n'
                't = threading.Thread(target=lambda: seen.append(os.sched_getscheduler(0))); t.start(); t.join()\n'
                'child = subprocess.run([sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],'
                ' capture_output=True, text=True).stdout\n'
                'assert seen == [os.SCHED_BATCH] and int(child) == os.SCHED_BATCH, (seen, child)')
        self.assertEqual(self.policy_after(code), os.SCHED_BATCH)

    def test_a_refusal_is_ignored(self):
        code = ('def refuse(*args): raise PermissionError("not allowed")\n'
                'os.sched_setscheduler = refuse\n'
                'from mpi4py._scheduling import run_as_batch; run_as_batch()')
        self.assertEqual(self.policy_after(code), os.SCHED_OTHER)


if __name__ == '__main__':
    unittest.main()
