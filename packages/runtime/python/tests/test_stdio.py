"""A rank's stdout once mpi4py is imported: written in blocks, not a write per line, yet live
(each byte leaves within FLUSH_SECONDS), and nothing lost at exit, fork or input()."""
import os
import socket
import subprocess
import sys
import textwrap
import time
import unittest

SHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start(code, unbuffered=True, stdout=subprocess.PIPE):
    env = dict(os.environ, PYTHONPATH=SHIM)
    env.pop('MPIAAS_PROTOCOL', None)
    env.pop('PYTHONUNBUFFERED', None)
    flags = ['-u'] if unbuffered else []
    return subprocess.Popen([sys.executable, *flags, '-c', textwrap.dedent(code)], env=env,
                            stdin=subprocess.PIPE, stdout=stdout, stderr=subprocess.PIPE)


def read_slowly(sock):
    """All a socket brings until its end, taken in small bites with pauses, as a busy agent
    does: the writer's buffer fills and its writes block, where writes could overtake."""
    data = bytearray()
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return bytes(data)
        data += chunk
        time.sleep(0.0002)


# Lines either side of the 8 KiB buffer, printed while the flusher flushes every 0.1 ms;
# between them the rank sleeps (as in numpy or I/O, with the interpreter lock let go), so
# the flusher finds a line's end waiting and writes it while the rank writes the next line
HAMMERED = '''
    import random, sys, time
    from mpi4py import MPI, _stdio
    _stdio.FLUSH_SECONDS = 0.0001
    sizes = random.Random(7).choices([5, 100, 8191, 12877, 20000], k=2000)
    for i, size in enumerate(sizes):
        print(f'{i}:' + 'x' * size)
        time.sleep(0.0002)
    print('name', sys.stdout.name, sys.__stdout__ is sys.stdout)
'''


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

    def test_lines_keep_their_order_while_the_flusher_flushes(self):
        # The flusher and the rank write the same stream: under -u (ranks are started so)
        # and with the interpreter's own buffer alike, no line nor line end may overtake
        # another, whatever the reader's pace (a socket, as the agent's)
        for unbuffered in (True, False):
            with self.subTest(unbuffered=unbuffered):
                ours, theirs = socket.socketpair()
                rank = start(HAMMERED, unbuffered=unbuffered, stdout=theirs)
                theirs.close()
                with ours:
                    out = read_slowly(ours)
                _, err = rank.communicate(timeout=60)
                self.assertEqual(rank.returncode, 0, err)
                lines = out.decode().split('\n')
                self.assertEqual(lines[-2:], ['name <stdout> True', ''])
                wrong = [n for n, line in enumerate(lines[:-2]) if line.partition(':')[0] != str(n)
                         or line.strip('0123456789:x')]
                self.assertEqual((len(lines) - 2, wrong[:5]), (2000, []))

    def test_a_fork_or_the_exit_while_the_flusher_flushes_loses_and_repeats_nothing(self):
        # a fork copies no lock the flusher holds (the child could not print), and at exit
        # the flusher stops before the interpreter's last flush (else the exit aborts)
        rank = start('''
            import os, sys
            from mpi4py import MPI, _stdio
            _stdio.FLUSH_SECONDS = 0
            for n in range(200):
                print('parent', n, 'y' * 3000)
                pid = os.fork()
                if pid == 0:
                    print('child', n)
                    sys.exit(0)
                os.waitpid(pid, 0)
            print('z' * 100000)
        ''')
        out, err = rank.communicate(timeout=120)
        self.assertEqual((rank.returncode, err), (0, b''))
        lines = out.decode().splitlines()
        self.assertEqual(lines[-1], 'z' * 100000)
        self.assertEqual(sorted(lines[:-1]), sorted([f'parent {n} ' + 'y' * 3000 for n in range(200)]
                                                   + [f'child {n}' for n in range(200)]))

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
