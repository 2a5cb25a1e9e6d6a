"""Framing, the one-write rule for blocking calls, direct receives, and Request
bookkeeping, against a scripted peer on a socketpair (no agent needed)."""
import json
import socket
import struct
import threading
import unittest
import _thread

from mpi4py import MPI
from mpi4py._channel import channel, frame

try:
    import numpy as np
except ImportError:     # pragma: no cover
    np = None


def encode(header, parts=()):
    h = json.dumps(header).encode()
    body = b''.join(parts)
    return struct.pack('<II', 4 + len(h) + len(body), len(h)) + h + body


def read_frames(sock, count):
    """Read `count` frames from sock: [(header, body)]."""
    out, buf = [], b''
    while len(out) < count:
        while len(buf) < 8 or len(buf) < 4 + struct.unpack_from('<I', buf)[0]:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            buf += chunk
        flen, hlen = struct.unpack_from('<II', buf)
        out.append((json.loads(buf[8:8 + hlen]), buf[8 + hlen:4 + flen]))
        buf = buf[4 + flen:]
    return out


class PeerCase(unittest.TestCase):
    """Installs one end of a socketpair as the shim's channel; the test plays agent."""

    def setUp(self):
        self.shim, self.agent = socket.socketpair()
        self.saved = dict(channel.__dict__)
        channel.sock = self.shim
        channel._sendmsg = self.shim.sendmsg
        channel._recv_into = self.shim.recv_into
        channel._loads = json.loads
        channel._lock = _thread.allocate_lock()
        channel.outq = []
        channel.pending = {}
        channel._rpos = channel._rend = 0
        channel._calls = 1
        channel._answers = {}
        channel._reading = False
        channel._waiting = 0
        channel._turn_lock = _thread.allocate_lock()
        channel._turn = threading.Condition(channel._turn_lock)
        self.next_answer = 1    # number of the call the next reply answers (hello was 0)
        self.agent.settimeout(5)

    def tearDown(self):
        channel.__dict__.clear()
        channel.__dict__.update(self.saved)
        self.shim.close()
        self.agent.close()

    def serve(self, nframes, reply):
        """In a thread: read nframes (recording them), then send reply(frames)."""
        self.seen = []

        def run():
            frames = read_frames(self.agent, nframes)
            self.seen.extend(frames)
            data = reply(frames)
            if data:
                self.agent.sendall(self.numbered(data))
        # named as the shim's own threads are: the rank does not count it as one of its own
        t = threading.Thread(target=run, name='mpiaas-test-agent')
        t.start()
        return t


    def numbered(self, data):
        """Reply frames as the agent sends them: tagged with the number (k) of the call each
        answers (these tests' calls are answered in order)."""
        out = b''
        while data:
            flen, hlen = struct.unpack_from('<II', data)
            hdr = json.loads(data[8:8 + hlen])
            body = data[8 + hlen:4 + flen]
            if 'k' not in hdr and 'stack' not in hdr:
                hdr['k'] = self.next_answer
                self.next_answer += 1
            out += encode(hdr, [body])
            data = data[4 + flen:]
        return out


class TestCompactJson(unittest.TestCase):

    def test_reads_what_json_loads_reads(self):
        from mpi4py._channel import compact_json_loads
        loads = compact_json_loads()
        for text in ['{"done":[{"req":2,"kind":"coll","counts":[]}],"parts":[],"k":2}',
                     '{"error":"rank 3: \\"x\\" \\u00e9\\n","found":true,"t":false,"n":null}',
                     '{"a":-1.5e-7,"b":[1,2.0,-0,[],{}],"c":"\u00fc\u4e2d"}', '[]', '7']:
            self.assertEqual(loads(text), json.loads(text), text)


class TestFraming(PeerCase):

    def test_frame_layout(self):
        f = frame(b'{"op":"x"}', 5)
        flen, hlen = struct.unpack_from('<II', f)
        self.assertEqual((flen, hlen), (4 + 10 + 5, 10))
        self.assertEqual(f[8:], b'{"op":"x"}')

    def test_send_one_frame(self):
        comm = MPI.COMM_WORLD
        body = bytes(range(256)) * 10
        comm.Send([body, MPI.BYTE], 0, 7)
        (hdr, got), = read_frames(self.agent, 1)
        self.assertEqual(hdr, {'op': 'send', 'ctx': 'w', 'dest': 0, 'tag': 7})
        self.assertEqual(got, body)

    def test_send_pickle(self):
        MPI.COMM_WORLD.send({'a': [1, 2]}, 0, 3)
        (hdr, got), = read_frames(self.agent, 1)
        import pickle
        self.assertEqual(pickle.loads(got), {'a': [1, 2]})

    def test_blocking_recv_is_one_write_and_lands_in_buffer(self):
        payload = bytes(range(200)) * 2000      # larger than the read buffer
        dst = bytearray(len(payload) + 10)

        def reply(frames):
            (irecv, _), (wait, _) = frames
            req = irecv['req']
            self.assertEqual(wait, {'op': 'wait', 'reqs': [req], 'mode': 'all'})
            return encode({'done': [{'req': req, 'kind': 'recv', 'source': 0, 'tag': 4,
                                     'count': len(payload)}], 'parts': [len(payload)]},
                          [payload])
        t = self.serve(2, reply)
        st = MPI.Status()
        MPI.COMM_WORLD.Recv(dst, MPI.ANY_SOURCE, 4, st)
        t.join()
        self.assertEqual(self.seen[0][0]['op'], 'irecv')
        self.assertEqual((self.seen[0][0]['source'], self.seen[0][0]['tag']), (-1, 4))
        self.assertEqual(bytes(dst[:len(payload)]), payload)
        self.assertEqual((st.source, st.tag, st.Get_count(), st.count), (0, 4, len(payload),
                                                                           len(payload)))

    def test_truncation(self):
        def reply(frames):
            req = frames[0][0]['req']
            return encode({'done': [{'req': req, 'kind': 'recv', 'source': 0, 'tag': 0,
                                     'count': 8}], 'parts': [8]}, [b'abcdefgh'])
        t = self.serve(2, reply)
        buf = bytearray(3)
        with self.assertRaises(MPI.Exception) as cm:
            MPI.COMM_WORLD.Recv(buf, 0, 0)
        t.join()
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_TRUNCATE)
        self.assertEqual(buf, bytearray(b'abc'))

    def test_zero_length_recv_is_none(self):
        def reply(frames):
            req = frames[0][0]['req']
            return encode({'done': [{'req': req, 'kind': 'recv', 'source': 0, 'tag': 0,
                                     'count': 0}], 'parts': [0]})
        t = self.serve(2, reply)
        self.assertIsNone(MPI.COMM_WORLD.recv(source=0))
        t.join()

    def test_ssend_waits_for_match(self):
        def reply(frames):
            (isend, body), (wait, _) = frames
            self.assertTrue(isend['sync'])
            return encode({'done': [{'req': isend['req'], 'kind': 'send'}], 'parts': []})
        t = self.serve(2, reply)
        MPI.COMM_WORLD.Ssend(b'xyz', 0, 1)
        t.join()
        self.assertEqual(self.seen[0][1], b'xyz')

    def test_agent_error_reply(self):
        t = self.serve(1, lambda frames: encode({'error': 'MPI_ERR_RANK: nope'}))
        with self.assertRaises(MPI.Exception) as cm:
            MPI.COMM_WORLD.Iprobe(0, 0)
        t.join()
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_RANK)

    def test_proc_null_no_traffic(self):
        comm = MPI.COMM_WORLD
        comm.Send(b'x', MPI.PROC_NULL)
        comm.send(1, MPI.PROC_NULL)
        st = MPI.Status()
        self.assertIsNone(comm.recv(None, MPI.PROC_NULL, 0, st))
        self.assertEqual((st.source, st.tag, st.count), (MPI.PROC_NULL, MPI.ANY_TAG, 0))
        comm.Recv(bytearray(1), MPI.PROC_NULL)
        self.assertIsNone(comm.irecv(source=MPI.PROC_NULL).wait())
        self.agent.setblocking(False)
        with self.assertRaises(BlockingIOError):
            self.agent.recv(1)

    def test_invalid_rank_and_tag(self):
        comm = MPI.COMM_WORLD
        for call, err in [(lambda: comm.send(1, comm.size), MPI.ERR_RANK),
                          (lambda: comm.send(1, 0, -5), MPI.ERR_TAG),
                          (lambda: comm.bcast(1, root=comm.size), MPI.ERR_ROOT),
                          (lambda: comm.reduce(1, root=-1), MPI.ERR_ROOT)]:
            with self.assertRaises(MPI.Exception) as cm:
                call()
            self.assertEqual(cm.exception.Get_error_class(), err)

    @unittest.skipIf(np is None, 'numpy')
    def test_nonblocking_allreduce_folds_on_wait(self):
        def reply(frames):
            icoll, body = frames[0]
            self.assertEqual(icoll['coll'], 'allgather')
            self.assertEqual(icoll['parts'], [24])
            parts = [np.arange(3, dtype='d').tobytes(), (np.arange(3, dtype='d') * 10).tobytes()]
            return encode({'done': [{'req': icoll['req'], 'kind': 'coll',
                                     'counts': [24, 24]}], 'parts': [24, 24]}, parts)
        out = np.zeros(3)
        req = MPI.COMM_WORLD.Iallreduce(np.arange(3, dtype='d'), out, op=MPI.SUM)
        self.assertEqual(list(out), [0, 0, 0])
        t = self.serve(1, reply)
        req.Wait()
        t.join()
        self.assertEqual(list(out), [0.0, 11.0, 22.0])
        self.assertEqual(req, MPI.REQUEST_NULL)


class TestRequests(PeerCase):

    def test_null_requests(self):
        r = MPI.REQUEST_NULL
        self.assertTrue(r.Test())
        self.assertTrue(r.Wait())
        self.assertEqual(r.test(), (True, None))
        self.assertIsNone(r.wait())
        self.assertEqual(MPI.Request(), MPI.REQUEST_NULL)
        self.assertTrue(MPI.Request.Waitall([]))
        self.assertTrue(MPI.Request.Testall([]))
        self.assertEqual(MPI.Request.Waitany([]), MPI.UNDEFINED)
        self.assertEqual(MPI.Request.Testany([]), (MPI.UNDEFINED, True))
        self.assertIsNone(MPI.Request.Waitsome([]))
        self.assertEqual(MPI.Request.waitall([]), [])
        self.assertEqual(MPI.Request.testall([MPI.REQUEST_NULL]), (True, [None]))
        self.assertEqual(MPI.Request.waitany([MPI.REQUEST_NULL]), (MPI.UNDEFINED, None))
        self.assertEqual(MPI.Request.testany([MPI.REQUEST_NULL]), (MPI.UNDEFINED, True, None))

    def test_eager_isend_is_complete(self):
        r = MPI.COMM_WORLD.isend(1, 0, 0)
        read_frames(self.agent, 1)
        self.assertNotEqual(r, MPI.REQUEST_NULL)
        self.assertEqual(r.test(), (True, None))
        self.assertEqual(r, MPI.REQUEST_NULL)

    def test_waitany_and_status_list(self):
        comm = MPI.COMM_WORLD
        a, b = bytearray(2), bytearray(2)
        ra = comm.Irecv(a, 0, 1)
        rb = comm.Irecv(b, 0, 2)
        channel.flush()
        read_frames(self.agent, 2)

        def reply(frames):
            (wait, _), = frames
            self.assertEqual(wait['mode'], 'any')
            return encode({'done': [{'req': rb._id, 'kind': 'recv', 'source': 0, 'tag': 2,
                                     'count': 2}], 'parts': [2]}, [b'BB'])
        t = self.serve(1, reply)
        self.assertEqual(MPI.Request.Waitany([ra, rb]), 1)
        t.join()
        self.assertEqual(b, bytearray(b'BB'))

        def reply2(frames):
            (wait, _), = frames
            self.assertEqual(wait['reqs'], [ra._id])
            return encode({'done': [{'req': ra._id, 'kind': 'recv', 'source': 0, 'tag': 1,
                                     'count': 2}], 'parts': [2]}, [b'AA'])
        t = self.serve(1, reply2)
        statuses = []
        self.assertTrue(MPI.Request.Waitall([ra, rb], statuses))
        t.join()
        self.assertEqual(len(statuses), 2)
        self.assertEqual(statuses[0].tag, 1)
        self.assertEqual(a, bytearray(b'AA'))

    def test_test_not_done_then_cancel(self):
        r = MPI.COMM_WORLD.Irecv(bytearray(1), 0, 0)
        channel.flush()
        read_frames(self.agent, 1)
        t = self.serve(1, lambda f: encode({'done': [], 'parts': []}))
        self.assertFalse(r.Test())
        t.join()
        r.Cancel()
        (hdr, _), = read_frames(self.agent, 1)
        self.assertEqual(hdr, {'op': 'cancel', 'req': r._id})
        t = self.serve(1, lambda f: encode({'done': [{'req': r._id, 'kind': 'cancelled'}],
                                            'parts': []}))
        st = MPI.Status()
        r.Wait(st)
        t.join()
        self.assertTrue(st.Is_cancelled())

    def test_status(self):
        st = MPI.Status()
        self.assertEqual((st.source, st.tag, st.error, st.count), (-1, -1, 0, 0))
        st._set(2, 3, 20)
        self.assertEqual(st.Get_count(MPI.INT), 5)
        self.assertEqual(st.Get_elements(MPI.DOUBLE), MPI.UNDEFINED)
        self.assertEqual(MPI.Status(st), st)


if __name__ == '__main__':
    unittest.main()
