"""mpi4py.util.pkl5: the serializer and the one-message framing (the communication itself
is exercised by mpi4py's test_util_pkl5 through scripts/mpi4py-suite.sh)."""
import unittest

from mpi4py import MPI
from mpi4py.util import pkl5

try:
    import numpy as np
except ImportError:     # pragma: no cover
    np = None


@unittest.skipIf(np is None, 'numpy')
class TestPickle(unittest.TestCase):

    def test_out_of_band_from_the_threshold(self):
        p = pkl5.Pickle()
        self.assertEqual(p.PROTOCOL, pkl5._PROTOCOL)
        p.THRESHOLD = 64
        for n, nbufs in ((8, 0), (64, 1)):
            data, bufs = p.dumps(np.zeros(n // 4, 'i'))
            self.assertEqual(len(bufs), nbufs)
            self.assertEqual(list(p.loads(data, bufs)), [0] * (n // 4))
        p.PROTOCOL = 4          # no out-of-band buffers before protocol 5
        self.assertEqual(len(p.dumps(np.zeros(1000))[1]), 0)

    def test_frame_round_trip(self):
        saved, pkl5.pickle = pkl5.pickle, pkl5.Pickle()
        try:
            pkl5.pickle.THRESHOLD = 0
            obj = {'a': np.arange(10), 'b': [np.ones(3, 'f'), 'x'], 'c': None}
            back = pkl5._unframe(bytearray(pkl5._frame(obj)))
            self.assertEqual(list(back['a']), list(range(10)))
            self.assertEqual((list(back['b'][0]), back['b'][1], back['c']),
                             ([1.0] * 3, 'x', None))
        finally:
            pkl5.pickle = saved


class TestHandles(unittest.TestCase):

    def test_request_and_message_wrappers(self):
        self.assertFalse(pkl5.Request())
        self.assertEqual(pkl5.Request(MPI.REQUEST_NULL), MPI.REQUEST_NULL)
        msg = pkl5.Message(MPI.MESSAGE_NO_PROC)
        self.assertTrue(msg)
        self.assertEqual(msg, MPI.MESSAGE_NO_PROC)
        self.assertNotEqual(msg, MPI.MESSAGE_NULL)

    def test_copies_of_a_request_are_equal(self):
        from mpi4py._request import Request
        req = Request()._local()
        self.assertEqual(MPI.Request(req), req)
        self.assertNotEqual(Request()._local(), req)

    def test_comm_classes(self):
        comm = pkl5.Intracomm(MPI.COMM_SELF)
        self.assertIsInstance(comm, MPI.Intracomm)
        self.assertEqual(comm, MPI.COMM_SELF)
        self.assertRaises(RuntimeError, comm.irecv, None, MPI.PROC_NULL)


if __name__ == '__main__':
    unittest.main()


class TestRequestsAndMessages4x(unittest.TestCase):
    """mpi4py 4.x additions: get_status_all/any/some and free() (null handles here; with
    live ones in test/fixtures/pkl5_get_status.py)."""

    def test_get_status_of_null_and_done_requests(self):
        reqs = [pkl5.Request(), pkl5.Request(MPI.Request()._local(1, 2, 3))]
        statuses = []
        self.assertTrue(pkl5.Request.get_status_all(reqs, statuses))
        self.assertEqual(statuses[1].source, 1)
        self.assertEqual(pkl5.Request.get_status_any(reqs), (1, True))
        self.assertEqual(pkl5.Request.get_status_some(reqs), [1])
        self.assertEqual(pkl5.Request.get_status_any([pkl5.Request()]), (MPI.UNDEFINED, True))
        self.assertIsNone(pkl5.Request.get_status_some([pkl5.Request()]))

    def test_free(self):
        req = pkl5.Request(MPI.Request()._local())
        self.assertTrue(req)
        req.free()
        self.assertFalse(req)
        req.free()                              # a null one: nothing to do
        MPI.Request().free()
        pkl5.Message().free()
        MPI.MESSAGE_NULL.free()


@unittest.skipIf(np is None, 'numpy')
class TestPickleOutOfBand4x(unittest.TestCase):

    def test_dumps_oob_protocol_5_and_threshold(self):
        p = pkl5.Pickle()
        p.PROTOCOL = 2                  # dumps_oob uses protocol 5 whatever PROTOCOL says
        p.THRESHOLD = 64
        for n, nbufs in ((8, 0), (64, 1)):
            data, bufs = p.dumps_oob(np.zeros(n // 4, 'i'))
            self.assertIs(type(data), bytes)
            self.assertEqual(len(bufs), nbufs)
            self.assertTrue(all(type(b) is MPI.buffer for b in bufs))
            self.assertEqual(list(p.loads_oob(data, bufs)), [0] * (n // 4))
        p.THRESHOLD = None              # back to the default
        self.assertEqual(p.THRESHOLD, pkl5._THRESHOLD)

