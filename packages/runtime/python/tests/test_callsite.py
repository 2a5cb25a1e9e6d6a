"""A collective tells the agent the call as the user made it and the script line that made
it (`name`, `at` in icoll): what a collective mismatch names."""
import unittest

from mpi4py import MPI
from mpi4py import _callsite, _profile

from test_channel import PeerCase, encode


def coll_reply(frames):
    req = frames[0][0]['req']
    return encode({'done': [{'req': req, 'kind': 'coll', 'counts': []}], 'parts': []}, [])


class CallSiteTest(PeerCase):

    def test_icoll_names_the_call_and_its_line(self):
        if not _profile._replaced:
            self.skipTest('profiling is off')
        t = self.serve(2, coll_reply)
        MPI.COMM_WORLD.Barrier(); line = _line()
        t.join()
        icoll = self.seen[0][0]
        self.assertEqual((icoll['op'], icoll['coll'], icoll['name']), ('icoll', 'barrier', 'Barrier'))
        self.assertEqual(icoll['at'], 'test_callsite.py:%d' % line)

    def test_no_call_in_progress_names_nothing(self):
        self.assertEqual(_callsite.call_site(), (None, None))


def _line():
    import sys
    return sys._getframe(1).f_lineno


if __name__ == '__main__':
    unittest.main()
