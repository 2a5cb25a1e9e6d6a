"""Initialisation as mpi4py does it (rc.initialize, rc.threads, rc.thread_level, Init,
Init_thread), the thread level really provided, and mpi4py.profile.  Each case runs in a
fresh interpreter: initialisation happens once per process, at `from mpi4py import MPI`."""
import os
import subprocess
import sys
import textwrap
import unittest

SHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(code):
    env = dict(os.environ, PYTHONPATH=SHIM)
    env.pop('MPIAAS_PROTOCOL', None)
    out = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=60)
    if out.returncode:
        raise AssertionError(out.stderr)
    return out.stdout.split()


class TestInit(unittest.TestCase):

    def test_default_initialises_at_import(self):
        self.assertEqual(run('''
            from mpi4py import MPI
            print(MPI.Is_initialized(), MPI.Query_thread() == MPI.THREAD_MULTIPLE)
        '''), ['True', 'True'])

    def test_deferred(self):
        self.assertEqual(run('''
            import mpi4py
            mpi4py.rc.initialize = False
            from mpi4py import MPI
            print(MPI.Is_initialized())
            print(MPI.Init_thread(MPI.THREAD_FUNNELED) == MPI.THREAD_FUNNELED)
            print(MPI.Is_initialized())
            try:
                MPI.Init()
            except MPI.Exception:
                print('twice-refused')
        '''), ['False', 'True', 'True', 'twice-refused'])

    def test_thread_level_from_rc(self):
        self.assertEqual(run('''
            import mpi4py
            mpi4py.rc.thread_level = 'funneled'
            from mpi4py import MPI
            print(MPI.Query_thread() == MPI.THREAD_FUNNELED)
        '''), ['True'])
        self.assertEqual(run('''
            import mpi4py
            mpi4py.rc(threads=False)
            from mpi4py import MPI
            print(MPI.Query_thread() == MPI.THREAD_SINGLE)
        '''), ['True'])

    def test_multiple_is_provided(self):
        # threads may block in MPI calls at once (test_threads.py shows they do)
        self.assertEqual(run('''
            import mpi4py
            mpi4py.rc.initialize = False
            from mpi4py import MPI
            print(MPI.Init_thread(MPI.THREAD_MULTIPLE) == MPI.THREAD_MULTIPLE)
        '''), ['True'])


class TestNamespace(unittest.TestCase):

    def test_mpi_holds_no_module_of_the_shim(self):
        # mpi4py.MPI is an extension module in mpi4py: MPI.os or MPI.channel would be ours
        sys.path.insert(0, SHIM)
        from mpi4py import MPI
        leaked = [n for n in ('os', 'sys', 'time', 'atexit', 'channel', 'frame') if hasattr(MPI, n)]
        self.assertEqual(leaked, [])
        self.assertTrue(callable(MPI.Init_thread) and callable(MPI.Wtime))


class TestProfile(unittest.TestCase):

    def test_unknown_profiler_is_an_error(self):
        sys.path.insert(0, SHIM)
        import mpi4py
        with self.assertRaises(ValueError):
            mpi4py.profile('mpe')


if __name__ == '__main__':
    unittest.main()


class TestWorldFromEnvironment(unittest.TestCase):
    """A rank outside the job's size (an environment set by hand) is refused at import with
    the variables to fix, before COMM_WORLD is half set up."""

    def _run(self, **variables):
        env = dict(os.environ, PYTHONPATH=SHIM, **variables)
        for name in ('MPIAAS_PROTOCOL', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'PMI_RANK', 'PMI_SIZE'):
            if name not in variables:
                env.pop(name, None)
        return subprocess.run([sys.executable, '-c', 'from mpi4py import MPI'], env=env,
                              capture_output=True, text=True, timeout=60)

    def test_rank_past_the_size(self):
        out = self._run(MPIAAS_RANK='3', MPIAAS_SIZE='2')
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('rank 3 of a job of 2', out.stderr)
        self.assertIn('MPIAAS_RANK/MPIAAS_SIZE', out.stderr)

    def test_rank_without_a_size(self):
        out = self._run(OMPI_COMM_WORLD_RANK='5', MPIAAS_RANK='', MPIAAS_SIZE='')
        self.assertIn('rank 5 of a job of 1', out.stderr)

    def test_negative_rank(self):
        self.assertIn('rank -1 of a job of 4', self._run(MPIAAS_RANK='-1', MPIAAS_SIZE='4').stderr)
