"""MPI.Pickle / MPI.pickle: the serializer of the lower-case calls, swappable as in mpi4py."""
import pickle
import unittest

from mpi4py import MPI
from mpi4py import _comm, _request


class TestPickle(unittest.TestCase):

    def test_defaults_like_mpi4py(self):
        # regression: MPI.pickle was missing (mpi4py's test_p2p_obj uses MPI.pickle.dumps)
        self.assertEqual(MPI.pickle.PROTOCOL, pickle.HIGHEST_PROTOCOL)
        data = MPI.pickle.dumps({'a': [1, 2.5]})
        self.assertEqual(MPI.pickle.loads(data), {'a': [1, 2.5]})
        self.assertEqual(MPI.pickle.loads(bytearray(data)), {'a': [1, 2.5]})
        self.assertEqual(repr(MPI.Pickle)[8:-2], 'mpi4py.MPI.Pickle')

    def test_protocol(self):
        p = MPI.Pickle()
        p.PROTOCOL = 2
        self.assertEqual(p.dumps(None)[:2], b'\x80\x02')
        p.PROTOCOL = None
        self.assertEqual(p.PROTOCOL, pickle.HIGHEST_PROTOCOL)
        self.assertEqual(MPI.Pickle(pickle.dumps, pickle.loads, 3).PROTOCOL, 3)

    def test_custom_serializer_is_called_as_mpi4py_calls_it(self):
        calls = []

        def dumps(*args):
            calls.append(len(args))
            return pickle.dumps(*args)
        self.assertIsNone(MPI.Pickle(dumps, pickle.loads).PROTOCOL)
        MPI.Pickle(dumps, pickle.loads).dumps(1)          # no protocol given: dumps(obj)
        MPI.Pickle(dumps, pickle.loads, 2).dumps(1)       # dumps(obj, protocol)
        self.assertEqual(calls, [1, 2])

    def test_lower_case_calls_go_through_MPI_pickle(self):
        seen = []
        saved = dict(MPI.pickle.__dict__)
        try:
            MPI.pickle.__init__(lambda obj, proto=None: seen.append('dumps') or pickle.dumps(obj),
                                lambda data: seen.append('loads') or pickle.loads(data))
            self.assertEqual(_request._unpickle(_comm._pickle([1])), [1])
        finally:
            MPI.pickle.__dict__.update(saved)
        self.assertEqual(seen, ['dumps', 'loads'])


class TestPickleTarget(unittest.TestCase):

    def test_receive_buffer_forms(self):
        # regression: irecv(512) / recv(1024) (a size to allocate) raised TypeError
        self.assertIsNone(_comm._pickle_target(None))
        mv = _comm._pickle_target(512)
        self.assertEqual((len(mv), mv.readonly), (512, False))
        buf = bytearray(16)
        mv = _comm._pickle_target(buf)
        mv[0] = 1
        self.assertEqual(buf[0], 1)


if __name__ == '__main__':
    unittest.main()
