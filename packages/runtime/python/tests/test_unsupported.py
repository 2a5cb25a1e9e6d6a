"""Unsupported MPI features fail loudly, naming the call."""
import unittest

from mpi4py import MPI


class TestUnsupported(unittest.TestCase):

    def check(self, func, name):
        with self.assertRaises(NotImplementedError) as cm:
            func()
        self.assertEqual(str(cm.exception), 'MPI.%s is not supported by mpiaas' % name)

    def test_messages(self):
        self.check(lambda: MPI.Win.Create(None), 'Win.Create')
        self.check(lambda: MPI.Win.Allocate(8), 'Win.Allocate')
        self.check(lambda: MPI.File.Open(MPI.COMM_WORLD, 'x'), 'File.Open')
        self.check(lambda: MPI.COMM_SELF.Spawn('python3'), 'Intracomm.Spawn')
        self.check(lambda: MPI.COMM_WORLD.Create_intercomm(0, MPI.COMM_WORLD, 0),
                   'Intracomm.Create_intercomm')
        self.check(lambda: MPI.Open_port(), 'Open_port')


class TestErrors(unittest.TestCase):

    def test_exception(self):
        e = MPI.Exception(MPI.ERR_RANK)
        self.assertEqual(str(e), 'MPI_ERR_RANK: invalid rank')
        self.assertEqual(repr(e), 'MPI.Exception(6)')
        self.assertEqual(e.Get_error_class(), MPI.ERR_RANK)
        self.assertEqual(e.Get_error_string(), 'MPI_ERR_RANK: invalid rank')
        self.assertEqual(e, MPI.ERR_RANK)
        self.assertIsInstance(e, RuntimeError)
        self.assertEqual(MPI.Get_error_string(MPI.ERR_TRUNCATE),
                         'MPI_ERR_TRUNCATE: message truncated')
        self.assertEqual((MPI.ERR_TAG, MPI.ERR_ROOT, MPI.ERR_TRUNCATE, MPI.ERR_OTHER),
                         (4, 8, 15, 16))

    def test_agent_error(self):
        from mpi4py._errors import agent_error
        e = agent_error('MPI_ERR_RANK: rank 9 out of range')
        self.assertEqual(e.Get_error_class(), MPI.ERR_RANK)
        self.assertEqual(str(e), 'MPI_ERR_RANK: rank 9 out of range')
        self.assertEqual(agent_error('boom').Get_error_class(), MPI.ERR_OTHER)


class TestModule(unittest.TestCase):

    def test_constants(self):
        self.assertEqual((MPI.ANY_SOURCE, MPI.ANY_TAG, MPI.PROC_NULL, MPI.UNDEFINED),
                         (-1, -1, -2, -32766))
        self.assertEqual((MPI.IDENT, MPI.CONGRUENT, MPI.SIMILAR, MPI.UNEQUAL), (0, 1, 2, 3))
        self.assertEqual(MPI.Get_version(), (3, 1))
        self.assertEqual(repr(MPI.IN_PLACE), 'IN_PLACE')
        self.assertEqual(MPI.THREAD_MULTIPLE, 3)
        self.assertEqual(MPI.COMM_WORLD.Get_attr(MPI.TAG_UB), 2147483647)
        self.assertEqual(MPI.COMM_WORLD.Get_name(), 'MPI_COMM_WORLD')
        self.assertEqual(MPI.COMM_NULL.Get_name(), 'MPI_COMM_NULL')
        self.assertFalse(MPI.COMM_NULL)
        self.assertIsInstance(MPI.COMM_WORLD, MPI.Intracomm)
        import mpi4py
        self.assertEqual(mpi4py.__version__, '3.1.4')
        self.assertEqual(mpi4py.rc.thread_level, 'multiple')

    def test_compute_dims(self):
        self.assertEqual(MPI.Compute_dims(6, 2), [3, 2])
        self.assertEqual(MPI.Compute_dims(12, [0, 3, 0]), [2, 3, 2])
        self.assertEqual(MPI.Compute_dims(16, 3), [4, 2, 2])
        self.assertEqual(MPI.Compute_dims(7, 2), [7, 1])

    def test_groups(self):
        g = MPI.Group(_ranks=[0, 1, 2, 3], _me=0)
        e = g.Excl([0])
        self.assertEqual((e.size, e.rank), (3, MPI.UNDEFINED))
        self.assertEqual(MPI.Group.Translate_ranks(g.Incl([3, 1]), [0, 1], g), [3, 1])
        self.assertEqual(MPI.Group.Compare(g, e), MPI.UNEQUAL)
        self.assertEqual(MPI.Group.Union(e, g).size, 4)
        self.assertEqual(MPI.Group.Intersection(e, g).size, 3)
        self.assertEqual(MPI.Group.Difference(g, e).size, 1)
        with self.assertRaises(MPI.Exception):
            g.Incl([7])

    def test_hello_world_imports_nothing_heavy(self):
        import subprocess, sys, os
        env = dict(os.environ)
        env['PYTHONPATH'] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env.pop('MPIAAS_PROTOCOL', None)
        out = subprocess.run([sys.executable, '-c', 'import sys; from mpi4py import MPI; '
                              'print(MPI.COMM_WORLD.rank, MPI.COMM_WORLD.size, '
                              '"numpy" in sys.modules, "socket" in sys.modules)'],
                             env=env, capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.split(), ['0', '1', 'False', 'False'])


if __name__ == '__main__':
    unittest.main()
