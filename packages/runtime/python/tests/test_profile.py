"""The profile's accounting (mpi4py/_profile.py): calls, bytes sent, time and the agent's
wait per op as the user called it, nested calls counted once, and the `profile` frame."""
import json
import pickle
import struct
import time
import unittest

from mpi4py import MPI
from mpi4py import _profile
from mpi4py._channel import channel, frame

from test_channel import PeerCase, encode, read_frames

try:
    import numpy as np
except ImportError:     # pragma: no cover
    np = None


def coll_reply(frames, w=None, parts=()):
    req = frames[0][0]['req']
    comp = {'req': req, 'kind': 'coll', 'counts': [len(p) for p in parts]}
    if w is not None:
        comp['w'] = w
    return encode({'done': [comp], 'parts': [len(p) for p in parts]}, parts)


class ProfileCase(PeerCase):

    def setUp(self):
        super().setUp()
        self.saved_stats = dict(_profile.stats)
        self.saved_waited = list(_profile._waited)
        _profile.stats.clear()

    def tearDown(self):
        _profile.stats.clear()
        _profile.stats.update(self.saved_stats)
        _profile._waited[:] = self.saved_waited
        super().tearDown()

    def op(self, name):
        calls, sent, ns, waited, hist = _profile.stats[name]
        return {'calls': calls, 'bytes': sent, 'ns': ns, 'waitNs': waited, 'hist': hist}


@unittest.skipUnless(_profile.enabled, 'MPIAAS_PROFILE=0')
class TestProfile(ProfileCase):

    def test_send_counts_calls_and_payload_bytes(self):
        body = bytes(1000)
        for _ in range(3):
            MPI.COMM_WORLD.Send([body, MPI.BYTE], 0, 1)
        read_frames(self.agent, 3)
        op = self.op('Send')
        self.assertEqual((op['calls'], op['bytes']), (3, 3000))
        self.assertGreater(op['ns'], 0)
        self.assertEqual(sum(op['hist'].values()), 3)

    def test_lowercase_send_counts_the_pickle(self):
        obj = {'x': list(range(50))}
        MPI.COMM_WORLD.send(obj, 0, 2)
        read_frames(self.agent, 1)
        self.assertEqual(self.op('send')['bytes'], len(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)))
        self.assertNotIn('Send', _profile.stats)

    def test_collective_wait_comes_from_the_agent(self):
        # size 1: Bcast at the root sends its buffer, the agent says it waited 250 µs
        t = self.serve(2, lambda frames: coll_reply(frames, w=250))
        buf = bytearray(64)
        MPI.COMM_WORLD.Bcast([buf, MPI.BYTE], root=0)
        t.join()
        op = self.op('Bcast')
        self.assertEqual((op['calls'], op['bytes'], op['waitNs']), (1, 64, 250_000))

    def test_nested_calls_count_once_under_the_outer_name(self):
        data = pickle.dumps(7, pickle.HIGHEST_PROTOCOL)
        t = self.serve(2, lambda frames: coll_reply(frames, parts=[data]))
        self.assertEqual(MPI.COMM_WORLD.reduce(7, op=MPI.SUM, root=0), 7)
        t.join()
        self.assertEqual(self.op('reduce')['calls'], 1)
        self.assertEqual(self.op('reduce')['bytes'], len(data))
        self.assertNotIn('gather', _profile.stats)

    def test_mpi4_isendrecv_calls_count_once_under_their_names(self):
        comm = MPI.COMM_WORLD
        comm.Isendrecv(b'12345', 0, 1, bytearray(5), 0, 1)
        comm.Isendrecv_replace(bytearray(b'abcd'), 0, 2, 0, 2)
        channel.flush()
        frames = read_frames(self.agent, 4)
        self.assertEqual([h['op'] for h, _ in frames], ['send', 'irecv', 'send', 'irecv'])
        self.assertEqual((self.op('Isendrecv')['calls'], self.op('Isendrecv')['bytes']),
                         (1, 5))
        self.assertEqual((self.op('Isendrecv_replace')['calls'],
                          self.op('Isendrecv_replace')['bytes']), (1, 4))
        self.assertNotIn('Isend', _profile.stats)     # the inner calls are not counted again
        self.assertNotIn('Irecv', _profile.stats)

    def test_time_is_the_call_s(self):
        def slow(frames):
            time.sleep(0.05)
            return coll_reply(frames)
        t = self.serve(2, slow)
        MPI.COMM_WORLD.Barrier()
        t.join()
        op = self.op('Barrier')
        self.assertGreaterEqual(op['ns'], 45_000_000)
        self.assertEqual(op['bytes'], 0)
        self.assertEqual(op['waitNs'], 0)
        self.assertEqual(list(op['hist']), [op['ns'].bit_length()])

    def test_request_methods_keep_their_names(self):
        self.assertEqual(MPI.Request.Waitall.__name__, 'Waitall')
        self.assertEqual(MPI.Comm.Bcast.__name__, 'Bcast')
        self.assertTrue(MPI.Request.Waitall([]))
        self.assertEqual(self.op('Waitall')['calls'], 1)

    def test_report_and_frame(self):
        MPI.COMM_WORLD.Send([bytes(10), MPI.BYTE], 0, 1)
        read_frames(self.agent, 1)
        rep = _profile.report()
        self.assertLessEqual(rep['mpiNs'], rep['wallNs'])
        (send,) = [o for o in rep['ops'] if o['op'] == 'Send']
        self.assertEqual((send['calls'], send['bytes']), (1, 10))
        data = _profile.report_frame()
        flen, hlen = struct.unpack_from('<II', data)
        self.assertEqual(len(data), 4 + flen)
        self.assertEqual(json.loads(data[8:8 + hlen]), {'op': 'profile'})
        body = json.loads(data[8 + hlen:])
        self.assertEqual(body['ops'][0]['op'], 'Send')
        self.assertEqual(body['ops'], json.loads(json.dumps(rep['ops'])))

    def test_report_json_is_json_dumps_compact(self):
        report = {'wallNs': 123456789012, 'mpiNs': 0, 'ops': [
            {'op': 'Allreduce', 'calls': 3, 'bytes': 0, 'ns': 9000, 'waitNs': 12000,
             'hist': [(12, 1), (13, 2)]},
            {'op': 'recv', 'calls': 1, 'bytes': 2 ** 40, 'ns': 1, 'waitNs': 0, 'hist': []}]}
        self.assertEqual(_profile.report_json(report), json.dumps(report, separators=(',', ':')))
        self.assertEqual(_profile.report_json({'wallNs': 5, 'mpiNs': 0, 'ops': []}),
                         '{"wallNs":5,"mpiNs":0,"ops":[]}')


@unittest.skipUnless(_profile.enabled, "MPIAAS_PROFILE=0")
class TestOnOff(ProfileCase):

    def test_set_enabled_takes_the_timers_out_and_back(self):
        wrapped = MPI.Comm.Send
        _profile.set_enabled(False)
        try:
            self.assertIs(MPI.Comm.Send, wrapped.__wrapped__)
            MPI.COMM_WORLD.Send([bytes(10), MPI.BYTE], 0, 1)
            read_frames(self.agent, 1)
            self.assertNotIn('Send', _profile.stats)
            self.assertEqual(_profile.report_frame(), b'')
        finally:
            _profile.set_enabled(True)
        MPI.COMM_WORLD.Send([bytes(10), MPI.BYTE], 0, 1)
        read_frames(self.agent, 1)
        self.assertEqual(self.op('Send')['calls'], 1)


class TestPayloadSent(PeerCase):
    """The channel's count of payload bytes, which the profile's bytes sent are read from:
    kept as _comm frames a message or a contribution, whether the profile is on or not."""

    def test_messages_and_contributions_not_their_headers(self):
        before = channel.payload_sent
        MPI.COMM_WORLD.Send([bytes(10), MPI.BYTE], 0, 1)
        read_frames(self.agent, 1)
        self.assertEqual(channel.payload_sent - before, 10)
        t = self.serve(2, lambda frames: coll_reply(frames))
        MPI.COMM_WORLD.Bcast([bytearray(64), MPI.BYTE], root=0)
        t.join()
        t = self.serve(2, lambda frames: coll_reply(frames))
        MPI.COMM_WORLD.Barrier()
        t.join()
        self.assertEqual(channel.payload_sent - before, 74)

    @unittest.skipUnless(_profile.enabled, 'MPIAAS_PROFILE=0')
    def test_counted_with_the_profile_off(self):
        before = channel.payload_sent
        _profile.set_enabled(False)
        try:
            MPI.COMM_WORLD.Send([bytes(10), MPI.BYTE], 0, 1)
            read_frames(self.agent, 1)
        finally:
            _profile.set_enabled(True)
        self.assertEqual(channel.payload_sent - before, 10)


if __name__ == '__main__':
    unittest.main()
