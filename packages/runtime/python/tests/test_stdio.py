"""A rank's stdout once mpi4py is imported: written in blocks, not a write per line, yet live
(each byte leaves within FLUSH_SECONDS), and nothing lost at exit, fork or input()."""
import os
import subprocess
import sys
import textwrap
import time
import unittest

SHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(code):
    env = dict(os.environ, PYTHONPATH=SHIM)
    env.pop('MPIAAS_PROTOCOL', None)
    return subprocess.Popen([sys.executable, '-u', '-c', textwrap.dedent(code)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


class TestStdout(unittest.TestCase):

    def test_a_line_shows_within_milliseconds_though_the_rank_goes_on(self):
        rank = start('''
            import time
            from mpi4py import MPI
            print('first', flush=False)
            time.sleep(30)
        ''')
        try:
            started = time.monotonic()
            self.assertEqual(rank.stdout.readline(), b'first\n')
            self.assertLess(time.monotonic() - started, 5)  # the import itself included
        finally:
            rank.kill()
            rank.wait()
            rank.stdout.close()
            rank.stderr.close()
            rank.stdin.close()

    def test_a_chatty_rank_writes_blocks_and_loses_nothing(self):
        rank = start('''
            import os, sys
            from mpi4py import MPI
            for i in range(20000):
                print(f'line {i:06d}')
            if os.fork() == 0:  # flushed first: the child does not print the parent's lines again
                print('from the child')
                sys.exit(0)
            os.wait()
            print('echo', input())
        ''')
        out, err = rank.communicate(b'typed\n', timeout=60)
        self.assertEqual(rank.returncode, 0, err)
        lines = out.decode().splitlines()
        self.assertEqual(lines[:20000], [f'line {i:06d}' for i in range(20000)])
        self.assertEqual(sorted(lines[20000:]), ['echo typed', 'from the child'])

    def test_the_shims_thread_does_not_keep_a_rank_alive(self):
        # a bare thread: the interpreter does not wait for it, and it is not among the
        # threads the agent is told of; nor does importing mpi4py import threading (or
        # weakref, which only py2f handles and user ops need)
        rank = start('''
            import sys
            costly = {'threading', 'functools', 'json', 're', 'weakref'}
            already = costly & set(sys.modules)     # what the interpreter's site imported
            from mpi4py import MPI
            print(sorted((costly & set(sys.modules)) - already), flush=True)
            import threading, _thread, time
            for _ in range(500):                # the flusher counts once it has started
                if _thread._count():
                    break
                time.sleep(0.01)
            print([t.name for t in threading.enumerate()], _thread._count())
        ''')
        out, err = rank.communicate(timeout=60)
        self.assertEqual((rank.returncode, out), (0, b"[]\n['MainThread'] 1\n"), err)


if __name__ == '__main__':
    unittest.main()
