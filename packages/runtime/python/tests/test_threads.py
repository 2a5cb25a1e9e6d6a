"""THREAD_MULTIPLE: threads blocked in calls at once, replies out of order, whole frames,
against a scripted agent (test_channel.PeerCase)."""
import json
import struct
import threading
import unittest

from mpi4py import MPI
from mpi4py._channel import channel

from test_channel import encode
from scripted_agent import AgentCase


class Frames:
    """The frames the shim writes, read one at a time (several may come in one write)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b''

    def next(self):
        while len(self.buf) < 8 or len(self.buf) < 4 + struct.unpack_from('<I', self.buf)[0]:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            self.buf += chunk
        flen, hlen = struct.unpack_from('<II', self.buf)
        hdr = json.loads(self.buf[8:8 + hlen])
        body = self.buf[8 + hlen:4 + flen]
        self.buf = self.buf[4 + flen:]
        return hdr, body

    def take(self, n, skip=('threads',)):
        """The next n frames, those whose op is in skip left out."""
        out = []
        while len(out) < n:
            hdr, body = self.next()
            if hdr.get('op') not in skip:
                out.append((hdr, body))
        return out


def recv_reply(req, tag, payload, k):
    return encode({'done': [{'req': req, 'kind': 'recv', 'source': 0, 'tag': tag,
                             'count': len(payload)}], 'parts': [len(payload)], 'k': k},
                  [payload])


def in_thread(fn, name):
    """Runs fn in a thread named like a user's; returns (thread, results list)."""
    out = []

    def run():
        try:
            out.append(fn())
        except BaseException as exc:    # reported by the test, not lost in the thread
            out.append(exc)
    t = threading.Thread(target=run, name=name)
    t.start()
    return t, out


class TestThreads(AgentCase):

    def setUp(self):
        super().setUp()
        self.frames = Frames(self.agent)

    def test_replies_out_of_order_reach_their_threads(self):
        # thread A blocks in a receive (call 1), then thread B (call 2); the agent answers
        # B first: A must not take B's reply, and each payload lands in its own buffer
        a_buf, b_buf = bytearray(5), bytearray(5)
        ta, a_out = in_thread(lambda: MPI.COMM_WORLD.Recv(a_buf, 0, 1), 'user-a')
        (irecv_a, _), (wait_a, _) = self.frames.take(2)
        tb, b_out = in_thread(lambda: MPI.COMM_WORLD.Recv(b_buf, 0, 2), 'user-b')
        (irecv_b, _), (wait_b, _) = self.frames.take(2)
        self.assertEqual((wait_a['op'], wait_b['op']), ('wait', 'wait'))
        self.agent.sendall(recv_reply(irecv_b['req'], 2, b'bbbbb', 2))
        tb.join(5)
        self.assertFalse(tb.is_alive())
        self.assertTrue(ta.is_alive())          # still waiting for its own answer
        self.agent.sendall(recv_reply(irecv_a['req'], 1, b'aaaaa', 1))
        ta.join(5)
        self.assertEqual((a_out, b_out), ([None], [None]))
        self.assertEqual((bytes(a_buf), bytes(b_buf)), (b'aaaaa', b'bbbbb'))

    def test_a_thread_sends_while_another_is_blocked(self):
        buf = bytearray(3)
        t, out = in_thread(lambda: MPI.COMM_WORLD.Recv(buf, 0, 7), 'user-recv')
        irecv, _ = self.frames.take(2)[0]
        MPI.COMM_WORLD.Send(b'xyz', 0, 7)       # not stuck behind the blocked Recv
        (send, body), = self.frames.take(1)
        self.assertEqual((send['op'], body), ('send', b'xyz'))
        self.agent.sendall(recv_reply(irecv['req'], 7, body, 1))
        t.join(5)
        self.assertEqual((out, bytes(buf)), ([None], b'xyz'))

    def test_frames_of_concurrent_senders_never_interleave(self):
        size = 1 << 18      # larger than a socket buffer: every send is several writes
        payloads = [bytes([i]) * size for i in range(4)]
        threads = [in_thread(lambda p=p, i=i: MPI.COMM_WORLD.Send(p, 0, i), 'sender-%d' % i)
                   for i, p in enumerate(payloads)]
        frames = self.frames.take(4)
        for t, _ in threads:
            t.join(5)
        got = sorted((hdr['tag'], body) for hdr, body in frames)
        self.assertEqual(got, list(enumerate(payloads)))

    def test_the_agent_is_told_how_many_threads_run(self):
        release = threading.Event()
        t = threading.Thread(target=release.wait, name='user-idle')
        t.start()
        try:
            t_probe, out = in_thread(lambda: MPI.COMM_WORLD.Iprobe(0, 0), 'user-probe')
            (threads, _), (probe, _) = self.frames.take(2, skip=())
            # main, the idle thread and the prober (the test's agent thread is not counted)
            self.assertEqual(threads, {'op': 'threads', 'n': 3})
            self.assertEqual(probe['op'], 'probe')
            self.agent.sendall(encode({'found': False, 'k': 1}))
            t_probe.join(5)
            self.assertEqual(out, [False])
        finally:
            release.set()
            t.join()

    def test_request_ids_stay_distinct_across_threads(self):
        ids = []
        lock = threading.Lock()

        def post():
            mine = [channel.new_req() for _ in range(2000)]
            with lock:
                ids.extend(mine)
        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(set(ids)), 8000)


if __name__ == '__main__':
    unittest.main()
