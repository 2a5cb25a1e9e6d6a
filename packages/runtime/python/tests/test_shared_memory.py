"""Large bcasts among ranks of one agent through files (_shared_memory): what the root
leaves, what each receiver reads, and every case that goes through the agent instead."""
import os
import shutil
import tempfile
import unittest

from mpi4py import MPI
from mpi4py import _shared_memory as shm
from mpi4py import _comm
from mpi4py._channel import channel
from scripted_agent import AgentCase
from test_channel import encode, read_frames
from mpi4py._collective_results import into_one, load_one, shared_or


class FakeChannel:
    """The reading side of the channel, over bytes already received."""

    def __init__(self, data=b''):
        self.data = bytes(data)

    def read(self, n):
        out, self.data = self.data[:n], self.data[n:]
        return out

    def readinto(self, dst):
        dst[:] = self.read(len(dst))

    def skip(self, n):
        self.data = self.data[n:]


class SharedMemoryCase(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix='mpiaas-shm-test-')
        self.saved = dict(shm._state)
        shm._state.update(folder=self.folder, local=frozenset({0, 1, 2, 3}), pool=[], once=[], next=0)

    def tearDown(self):
        shm._state.clear()
        shm._state.update(self.saved)
        shm.world_rank = 0
        shutil.rmtree(self.folder, ignore_errors=True)

    def receive_as(self, rank, ref, handler):
        """The result handler of receiver `rank`, given the root's [b'', ref]."""
        shm.world_rank = rank
        try:
            return shared_or(handler)([0, len(ref)], FakeChannel(ref))
        finally:
            shm.world_rank = 0

    def listing(self):
        return sorted(os.listdir(self.folder))

    def test_the_root_writes_once_and_links_a_name_per_receiver(self):
        data = os.urandom(shm.MIN_BYTES + 5)
        ref = shm.offer((1, 2), data)
        self.assertEqual(ref, b'.mpiaas-0-p1 %d' % len(data))
        self.assertEqual(self.listing(), ['.mpiaas-0-p1', '.mpiaas-0-p1.1', '.mpiaas-0-p1.2'])
        inodes = {os.stat(os.path.join(self.folder, n)).st_ino for n in self.listing()}
        self.assertEqual(len(inodes), 1)
        with open(os.path.join(self.folder, '.mpiaas-0-p1.1'), 'rb') as f:
            self.assertEqual(f.read(), data)

    def test_each_receiver_reads_its_name_then_unlinks_it(self):
        data = os.urandom(shm.MIN_BYTES + 3)
        ref = shm.offer((1, 2), memoryview(data))
        for rank in (1, 2):
            out = bytearray(len(data))
            self.receive_as(rank, ref, into_one(memoryview(out)))
            self.assertEqual(bytes(out), data)
        self.assertEqual(self.listing(), ['.mpiaas-0-p1'])

    def test_the_root_writes_over_a_file_once_every_receiver_has_read_it(self):
        first, second = os.urandom(shm.MIN_BYTES * 2), os.urandom(shm.MIN_BYTES)
        ref = shm.offer((1,), first)
        self.receive_as(1, ref, lambda counts, ch: ch.read(counts[0]))
        ref = shm.offer((1,), second)
        self.assertEqual(ref, b'.mpiaas-0-p1 %d' % len(second), 'the same file, shorter data')
        self.assertEqual(bytes(self.receive_as(1, ref, lambda counts, ch: ch.read(counts[0]))), second)

    def test_while_its_files_are_being_read_the_root_writes_another(self):
        data = bytes(12 << 20)      # two reusable files hold 24 MiB; a third would pass 32
        refs = [shm.offer((1,), data) for _ in range(3)]
        self.assertEqual([r.split()[0] for r in refs], [b'.mpiaas-0-p1', b'.mpiaas-0-p2', b'.mpiaas-0-3'])
        # the third is used once: only its receiver's name holds it
        self.assertEqual(self.listing(), ['.mpiaas-0-3.1', '.mpiaas-0-p1', '.mpiaas-0-p1.1',
                                          '.mpiaas-0-p2', '.mpiaas-0-p2.1'])
        for ref in refs:
            self.receive_as(1, ref, lambda counts, ch: ch.read(counts[0]))
        self.assertEqual(self.listing(), ['.mpiaas-0-p1', '.mpiaas-0-p2'])

    def test_what_is_not_read_yet_is_bounded_then_goes_through_the_agent(self):
        data = bytes(12 << 20)
        refs = [shm.offer((1,), data) for _ in range(4)]      # p0, p1, two used once
        self.assertIsNotNone(refs[3])
        self.assertIsNone(shm.offer((1,), data), 'a third file used once would pass 32 MiB')
        self.receive_as(1, refs[2], lambda counts, ch: ch.read(counts[0]))
        self.assertIsNotNone(shm.offer((1,), data), 'room again once one was read')

    def test_a_script_that_empties_its_tmp_only_costs_the_sender_a_new_file(self):
        ref = shm.offer((1,), bytes(shm.MIN_BYTES))
        for name in self.listing():
            os.unlink(os.path.join(self.folder, name))
        ref = shm.offer((1,), bytes(shm.MIN_BYTES))
        self.assertEqual(ref.split()[0], b'.mpiaas-0-p2')
        self.assertEqual([path for path, _ in shm._state['pool']], [os.path.join(self.folder, '.mpiaas-0-p2')])

    def test_threads_sending_at_once_each_get_a_file_of_their_own(self):
        import threading
        first = shm.offer((1,), bytes(shm.MIN_BYTES))          # a reusable file, free again
        self.receive_as(1, first, lambda counts, ch: ch.read(counts[0]))
        start, refs = threading.Barrier(6), {}

        def send(i):
            start.wait()
            refs[i] = shm.offer((1,), bytes([i]) * shm.MIN_BYTES)
        threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(set(refs.values())), 6)
        for i, ref in refs.items():
            self.assertEqual(bytes(self.receive_as(1, ref, lambda counts, ch: ch.read(counts[0]))),
                             bytes([i]) * shm.MIN_BYTES)

    def test_a_rank_over_its_file_size_limit_sends_through_the_agent(self):
        import resource
        import subprocess
        import sys
        code = ('import sys; sys.path.insert(0, %r)\n'
                'from mpi4py import _shared_memory as s\n'
                's._state.update(folder=%r, local=frozenset({0, 1}))\n'
                'print(s.offer((1,), bytes(2 << 20)), s.offer((1,), bytes(512 << 10)).split()[1])'
                % (os.path.dirname(os.path.dirname(shm.__file__)), self.folder))
        limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # noqa: E731
        out = subprocess.run([sys.executable, '-c', code], preexec_fn=limit, capture_output=True,
                             text=True, check=True).stdout
        self.assertEqual(out, "None b'524288'\n")
        # the file it could not fill is gone, not kept for the next message of that size
        self.assertEqual(self.listing(), ['.mpiaas-0-p2', '.mpiaas-0-p2.1'])

    def test_no_file_for_nobody_and_no_reading_a_link_or_fifo_planted_as_a_name(self):
        self.assertIsNone(shm.offer((), bytes(shm.MIN_BYTES)), 'a bcast on a communicator of one')
        os.symlink('/etc/hostname', os.path.join(self.folder, '.mpiaas-0-p7.1'))
        os.mkfifo(os.path.join(self.folder, '.mpiaas-0-p8.1'))
        for ref in (b'.mpiaas-0-p7 10', b'.mpiaas-0-p8 10'):
            with self.assertRaises(MPI.Exception):
                self.receive_as(1, ref, lambda counts, ch: ch.read(counts[0]))
        self.assertEqual(self.listing(), [])

    def test_a_reference_nobody_will_read_lets_its_file_go(self):
        ref = shm.offer((0,), bytes(shm.MIN_BYTES))
        shm.drop_shared(ref)
        self.assertEqual(self.listing(), ['.mpiaas-0-p1'])
        self.assertEqual(shm.offer((0,), bytes(shm.MIN_BYTES)), ref, 'the file is free again')

    def test_a_pickled_object_and_a_short_receive_buffer(self):
        import pickle
        obj = list(range(400000))
        ref = shm.offer((1, 2), pickle.dumps(obj))
        self.assertEqual(self.receive_as(1, ref, load_one), obj)
        short = bytearray(10)
        with self.assertRaises(MPI.Exception) as caught:
            self.receive_as(2, ref, into_one(memoryview(short)))
        self.assertEqual(caught.exception.Get_error_class(), MPI.ERR_TRUNCATE)
        self.assertEqual(self.listing(), ['.mpiaas-0-p1'])

    def test_what_goes_through_the_agent_instead(self):
        big = bytes(shm.MIN_BYTES)
        self.assertIsNone(shm.offer((1,), bytes(shm.MIN_BYTES - 1)), 'small')
        self.assertIsNone(shm.offer((1,), bytes(shm.MAX_BYTES + 1)), 'beyond the disk share')
        self.assertIsNone(shm.offer((1, 4), big), 'a member on another agent')
        shm._state.update(folder=os.path.join(self.folder, 'gone'))
        self.assertIsNone(shm.offer((1,), big), 'the write failed')
        shm._state.update(folder=None, local=frozenset())
        self.assertIsNone(shm.offer((1,), big), 'no folder offered')

    def test_a_failed_write_leaves_no_name_for_a_receiver(self):
        # the link for rank 2 finds its name taken, after rank 1's was made
        open(os.path.join(self.folder, '.mpiaas-0-p1.2'), 'wb').close()
        self.assertIsNone(shm.offer((1, 2), bytes(shm.MIN_BYTES)))
        self.assertEqual(self.listing(), ['.mpiaas-0-p1.2'])
        self.assertEqual(shm._state['pool'], [])

    def test_the_data_itself_goes_to_the_handler_from_the_channel(self):
        out = bytearray(3)
        shared_or(into_one(memoryview(out)))([3], FakeChannel(b'abc'))
        self.assertEqual(out, b'abc')

    def test_a_reference_that_cannot_be_used_is_an_mpi_error_naming_it(self):
        for ref, why in ((b'../../etc/passwd 1', 'cannot use'), (b'.mpiaas-0-p1', 'cannot use'),
                         (b'.mpiaas-0-99 10', 'No such file')):
            with self.assertRaises(MPI.Exception) as caught:
                self.receive_as(1, ref, load_one)
            self.assertIn(why, str(caught.exception))
            self.assertEqual(caught.exception.Get_error_class(), MPI.ERR_OTHER)

    def test_a_file_its_agent_left_is_read_as_a_ranks_is(self):
        # engine/agent-files.ts: `.mpiaas-a<agent>-p<n>`, a name per receiver
        data = os.urandom(shm.MIN_BYTES + 9)
        for rank in (1, 2):
            with open(os.path.join(self.folder, '.mpiaas-a1-p3.%d' % rank), 'wb') as f:
                f.write(data + b'tail of an earlier, longer message')
        for rank in (1, 2):
            out = bytearray(len(data))
            self.receive_as(rank, b'.mpiaas-a1-p3 %d' % len(data), into_one(memoryview(out)))
            self.assertEqual(bytes(out), data)
        self.assertEqual(self.listing(), [])
        for ref in (b'.mpiaas-b1-p3 10', b'.mpiaas-a-p3 10', b'.mpiaas-a1x-p3 10'):
            with self.assertRaises(MPI.Exception) as caught:
                self.receive_as(1, ref, load_one)
            self.assertIn('cannot use', str(caught.exception))

    def test_a_file_shorter_than_its_reference_is_an_mpi_error_and_its_name_goes(self):
        ref = shm.offer((1,), bytes(shm.MIN_BYTES))
        name, size = ref.split()
        with self.assertRaises(MPI.Exception) as caught:
            self.receive_as(1, b'%s %d' % (name, int(size) * 2), load_one)
        self.assertIn('missing', str(caught.exception))
        self.assertEqual(self.listing(), ['.mpiaas-0-p1'])

    def test_bcasts_below_the_threshold_never_load_the_module(self):
        self.assertEqual(_comm._SHARED_FROM, shm.MIN_BYTES)

    def test_the_folder_comes_from_the_agents_hello(self):
        from mpi4py._channel import channel
        saved = channel.info, channel._lock
        shm._state.update(folder=None, local=None)
        try:
            channel.info, channel._lock = {'shm': self.folder, 'local': [0, 2]}, object()
            self.assertEqual(shm._offered(), (self.folder, frozenset({0, 2})))
            shm._state.update(folder=None, local=None)
            channel.info = {'host': 'h'}
            self.assertEqual(shm._offered(), (None, frozenset()))
            # the agent's split of the job's disk: half of a rank's share for one message at most
            shm._state.update(folder=None, local=None)
            channel.info = {'shm': self.folder, 'local': [0, 1], 'shmBytes': 8 << 20}
            self.assertIsNone(shm.offer((1,), bytes(5 << 20)))
            self.assertIsNotNone(shm.offer((1,), bytes(3 << 20)))
        finally:
            channel.info, channel._lock = saved


class MessagesThroughFiles(AgentCase):
    """Point to point against a scripted agent: a large message to a rank of the same agent
    leaves as a reference with its size, and a reference received lands in the buffer."""

    def setUp(self):
        super().setUp()
        self.folder = tempfile.mkdtemp(prefix='mpiaas-shm-test-')
        self.saved_shm = dict(shm._state)
        shm._state.update(folder=self.folder, local=frozenset({0}), pool=[], once=[], next=0)

    def tearDown(self):
        shm._state.clear()
        shm._state.update(self.saved_shm)
        shutil.rmtree(self.folder, ignore_errors=True)
        super().tearDown()

    def test_a_large_send_leaves_a_reference_and_its_receive_reads_the_file(self):
        data = os.urandom(shm.MIN_BYTES + 11)
        MPI.COMM_WORLD.Send(data, 0, 3)                 # to itself: a rank of its agent
        (hdr, body), = read_frames(self.agent, 1)
        self.assertEqual((hdr['op'], hdr['shm'], body), ('send', len(data), b'.mpiaas-0-p1 %d' % len(data)))
        out = bytearray(len(data))

        def reply(frames):
            req = frames[0][0]['req']
            return encode({'done': [{'req': req, 'kind': 'recv', 'source': 0, 'tag': 3,
                                     'count': len(body), 'shm': len(data)}], 'parts': [len(body)]}, [body])
        t = self.serve(2, reply)
        status = MPI.Status()
        MPI.COMM_WORLD.Recv(out, 0, 3, status)
        t.join()
        self.assertEqual((bytes(out), status.Get_count(MPI.BYTE)), (data, len(data)))
        self.assertEqual(sorted(os.listdir(self.folder)), ['.mpiaas-0-p1'])

    def test_a_message_whose_file_is_gone_fails_its_request_alone_and_the_channel_stays_in_step(self):
        lost, small = bytearray(8), bytearray(5)
        requests = [MPI.COMM_WORLD.Irecv(lost, 0, 1), MPI.COMM_WORLD.Irecv(small, 0, 2)]
        ref = b'.mpiaas-0-p9 8'                          # no such file

        def reply(frames):
            lost_id, small_id = frames[0][0]['req'], frames[1][0]['req']
            return encode({'done': [{'req': lost_id, 'kind': 'recv', 'source': 0, 'tag': 1, 'count': len(ref), 'shm': 8},
                                    {'req': small_id, 'kind': 'recv', 'source': 0, 'tag': 2, 'count': 5}],
                           'parts': [len(ref), 5]}, [ref, b'small'])
        t = self.serve(3, reply)
        statuses = [MPI.Status(), MPI.Status()]
        with self.assertRaises(MPI.Exception) as caught:
            MPI.Request.Waitall(requests, statuses)
        t.join()
        self.assertEqual(caught.exception.Get_error_class(), MPI.ERR_IN_STATUS)
        self.assertEqual([st.error for st in statuses], [MPI.ERR_OTHER, MPI.SUCCESS])
        self.assertEqual(small, b'small')
        self.assertEqual(channel.pending, {})
        t = self.serve(1, lambda frames: encode({'found': False}))    # the next reply reads whole
        self.assertFalse(MPI.COMM_WORLD.Iprobe(0, 3))
        t.join()

    def test_a_persistent_bcast_whose_file_is_gone_raises_at_waitall(self):
        buf = bytearray(8)
        req = MPI.COMM_WORLD.Bcast_init(buf, 0)
        MPI.COMM_WORLD._rank = 1                        # a receiver of root 0, in this test
        try:
            req.Start()
        finally:
            MPI.COMM_WORLD._rank = 0
        (hdr, _), = read_frames(self.agent, 1)
        ref = b'.mpiaas-0-p9 8'
        t = self.serve(1, lambda frames: encode({'done': [{'req': hdr['req'], 'kind': 'coll', 'counts': [0, len(ref)]}],
                                                 'parts': [0, len(ref)]}, [b'', ref]))
        with self.assertRaisesRegex(MPI.Exception, 'missing'):
            MPI.Request.Waitall([req])
        t.join()

    def test_a_completion_of_a_freed_receive_lets_its_file_go(self):
        data = bytes(shm.MIN_BYTES)
        MPI.COMM_WORLD.Send(data, 0, 3)
        (_, ref), = read_frames(self.agent, 1)
        self.agent.sendall(self.numbered(encode(
            {'done': [{'req': 999, 'kind': 'recv', 'source': 0, 'tag': 3, 'count': len(ref), 'shm': len(data)}],
             'parts': [len(ref)]}, [ref])))
        channel._take_reply()                           # no request 999: its reference is dropped
        self.assertEqual(sorted(os.listdir(self.folder)), ['.mpiaas-0-p1'])

    def test_a_small_send_and_one_to_another_agents_rank_carry_the_data(self):
        comm = MPI.COMM_WORLD
        comm.Send(b'small', 0, 1)
        (hdr, body), = read_frames(self.agent, 1)
        self.assertEqual((hdr.get('shm'), body), (None, b'small'))
        shm._state.update(local=frozenset({1}))           # rank 0 is not on this agent now
        t = self.serve(1, lambda frames: None)          # reads while the send writes
        comm.Send(bytes(shm.MIN_BYTES), 0, 1)
        t.join()
        (hdr, body), = self.seen
        self.assertEqual((hdr.get('shm'), len(body)), (None, shm.MIN_BYTES))


if __name__ == '__main__':
    unittest.main()
