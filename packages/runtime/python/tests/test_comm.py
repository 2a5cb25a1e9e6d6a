"""Communicators (mpi4py/_comm.py) against a scripted agent: what each call asks of the
agent, how the results land (per-rank slots, truncation, folds), matched probes, new
communicators (Split, Free), attributes and the unsupported entry points."""
import array
import unittest

from mpi4py import MPI
from mpi4py._channel import channel

from scripted_agent import AgentCase, member_comm, queued_frames, coll_reply, pickled
from test_channel import encode, read_frames


def recv_reply(frames, payload, source, tag):
    """The agent's completion of the receive posted in frames[0]."""
    req = frames[0][0]['req']
    return encode({'done': [{'req': req, 'kind': 'recv', 'source': source, 'tag': tag,
                             'count': len(payload)}], 'parts': [len(payload)]}, [payload])


class CommCase(AgentCase):

    def comm4(self):
        """A communicator of world ranks 7, 0, 9, 8: this process is its rank 1."""
        return member_comm(self, [7, 0, 9, 8])

    def assertErrorClass(self, errclass, fn, *args):
        with self.assertRaises(MPI.Exception) as cm:
            fn(*args)
        self.assertEqual(cm.exception.Get_error_class(), errclass)


class TestPointToPoint(CommCase):

    def test_a_new_communicator_is_registered_then_used_by_its_ranks(self):
        comm, reg = self.comm4()
        self.assertEqual((comm.rank, comm.size), (1, 4))
        self.assertEqual((reg['op'], reg['group']), ('comm', [7, 0, 9, 8]))
        comm.Send(b'abc', 3, 9)
        (hdr, body), = read_frames(self.agent, 1)
        self.assertEqual(hdr, {'op': 'send', 'ctx': reg['ctx'], 'dest': 3, 'tag': 9})
        self.assertEqual(body, b'abc')

    def test_ranks_and_tags_are_checked_before_any_traffic(self):
        comm, _ = self.comm4()
        self.assertErrorClass(MPI.ERR_RANK, comm.Send, b'x', 4)
        self.assertErrorClass(MPI.ERR_RANK, comm.send, 1, -3)
        self.assertErrorClass(MPI.ERR_RANK, comm.Irecv, bytearray(1), 4)
        self.assertErrorClass(MPI.ERR_TAG, comm.Send, b'x', 0, MPI.COMM_WORLD.Get_attr(
            MPI.TAG_UB) + 1)
        self.assertErrorClass(MPI.ERR_TAG, comm.Irecv, bytearray(1), 0, -7)
        self.assertErrorClass(MPI.ERR_COMM, MPI.COMM_NULL.Send, b'x', 0)
        self.agent.setblocking(False)
        with self.assertRaises(BlockingIOError):
            self.agent.recv(1)

    def test_sendrecv_sends_then_waits_for_its_receive_in_one_write(self):
        comm, reg = self.comm4()
        t = self.serve(3, lambda frames: recv_reply(frames[1:], b'back', 2, 4))
        dst = bytearray(4)
        st = MPI.Status()
        comm.Sendrecv(b'out', 3, 5, dst, 2, 4, st)
        t.join()
        ops = [h['op'] for h, _ in self.seen]
        self.assertEqual(ops, ['send', 'irecv', 'wait'])
        self.assertEqual((self.seen[0][0]['dest'], self.seen[0][1]), (3, b'out'))
        self.assertEqual((dst, st.source, st.tag), (bytearray(b'back'), 2, 4))

    def test_isendrecv_replace_sends_the_buffer_before_receiving_into_it(self):
        comm, _ = self.comm4()
        buf = bytearray(b'mine')
        req = comm.Isendrecv_replace(buf, 3, 1, 2, 1)
        channel.flush()
        (send, body), (irecv, _) = read_frames(self.agent, 2)
        self.assertEqual((send['op'], body, irecv['op'], irecv['source']),
                         ('send', b'mine', 'irecv', 2))
        t = self.serve(1, lambda frames: recv_reply([({'req': irecv['req']}, b'')], b'your',
                                                    2, 1))
        req.Wait()
        t.join()
        self.assertEqual(buf, bytearray(b'your'))

    def test_isendrecv_returns_the_receive(self):
        comm, _ = self.comm4()
        dst = bytearray(2)
        req = comm.Isendrecv(b'hi', 0, 0, dst, 3, 6)
        channel.flush()
        (send, _), (irecv, _) = read_frames(self.agent, 2)
        self.assertEqual((send['op'], irecv['op'], irecv['tag']), ('send', 'irecv', 6))
        t = self.serve(1, lambda frames: recv_reply([({'req': irecv['req']}, b'')], b'yo',
                                                    3, 6))
        st = MPI.Status()
        req.Wait(st)
        t.join()
        self.assertEqual((dst, st.source), (bytearray(b'yo'), 3))


class TestMatchedProbe(CommCase):

    def test_mprobe_claims_the_probed_message_for_its_receive(self):
        comm, _ = self.comm4()

        def reply(frames):
            self.assertEqual(frames[0][0]['block'], True)
            return encode({'found': True, 'source': 2, 'tag': 5, 'count': 3})
        t = self.serve(1, reply)
        st = MPI.Status()
        msg = comm.Mprobe(MPI.ANY_SOURCE, MPI.ANY_TAG, st)
        t.join()
        probe = self.seen[0][0]
        self.assertEqual((probe['op'], probe['source'], probe['tag']), ('probe', -1, -1))
        self.assertIn(probe['claim'], channel.pending)     # the agent posts it as it answers
        self.assertEqual((st.source, st.tag, st.Get_count()), (2, 5, 3))
        t = self.serve(1, lambda frames: recv_reply([({'req': probe['claim']}, b'')], b'xyz',
                                                    2, 5))
        dst = bytearray(5)
        msg.Recv(dst)
        t.join()
        self.assertEqual(self.seen[0][0], {'op': 'wait', 'reqs': [probe['claim']], 'mode': 'all'})
        self.assertEqual(dst, bytearray(b'xyz\0\0'))
        self.assertEqual(msg, MPI.MESSAGE_NULL)

    def test_a_matched_message_too_long_for_the_buffer_is_err_truncate(self):
        comm, _ = self.comm4()
        t = self.serve(1, lambda f: encode({'found': True, 'source': 0, 'tag': 1, 'count': 4}))
        msg = comm.Mprobe(0, 1)
        t.join()
        claim = self.seen[0][0]['claim']
        t = self.serve(1, lambda f: recv_reply([({'req': claim}, b'')], b'long', 0, 1))
        dst = bytearray(2)
        self.assertErrorClass(MPI.ERR_TRUNCATE, msg.Recv, dst)
        t.join()
        self.assertEqual(dst, bytearray(b'lo'))

    def test_improbe_of_nothing_and_of_proc_null(self):
        comm, _ = self.comm4()
        t = self.serve(1, lambda frames: encode({'found': False}))
        self.assertIsNone(comm.Improbe(0, 0))
        t.join()
        self.assertEqual(self.seen[0][0]['block'], False)
        self.assertNotIn(self.seen[0][0]['claim'], channel.pending)    # nothing was claimed
        msg = comm.mprobe(MPI.PROC_NULL)
        self.assertEqual(msg, MPI.MESSAGE_NO_PROC)
        st = MPI.Status()
        self.assertIsNone(msg.recv(st))
        self.assertEqual(st.source, MPI.PROC_NULL)


class TestCollectives(CommCase):

    def test_gather_of_objects_at_the_root_only(self):
        comm, _ = self.comm4()
        t = self.serve(2, lambda frames: coll_reply(frames, pickled('a', 'b', 'c', 'd')))
        self.assertEqual(comm.gather('b', root=1), ['a', 'b', 'c', 'd'])
        t.join()
        self.assertEqual((self.seen[0][0]['coll'], self.seen[0][0]['root']), ('gather', 1))
        t = self.serve(2, lambda frames: coll_reply(frames))
        self.assertIsNone(comm.gather('b', root=0))
        t.join()

    def test_scan_exscan_allreduce_fold_in_rank_order(self):
        comm, _ = self.comm4()                         # I am rank 1
        for call, expected in ((comm.allreduce, 10), (comm.scan, 3), (comm.exscan, 1)):
            t = self.serve(2, lambda frames: coll_reply(frames, pickled(1, 2, 3, 4)))
            self.assertEqual(call(2), expected, call.__name__)
            t.join()
        t = self.serve(2, lambda frames: coll_reply(frames, pickled('a', 'b', 'c', 'd')))
        self.assertEqual(comm.allreduce('b', op=MPI.MAX), 'd')
        t.join()

    def test_scatter_wants_one_item_per_rank(self):
        comm, _ = self.comm4()
        with self.assertRaises(ValueError):
            comm.scatter([1, 2, 3], root=1)
        t = self.serve(2, lambda frames: coll_reply(frames, pickled('mine')))
        self.assertEqual(comm.scatter(['w', 'mine', 'y', 'z'], root=1), 'mine')
        t.join()
        self.assertEqual(self.seen[0][0]['parts'], [len(p) for p in pickled('w', 'mine', 'y',
                                                                            'z')])

    def test_gather_lands_each_rank_in_its_slot(self):
        comm, _ = self.comm4()
        parts = [b'AA', b'BB', b'CC', b'DD']
        t = self.serve(2, lambda frames: coll_reply(frames, parts))
        out = bytearray(8)
        comm.Gather(b'BB', out, root=1)
        t.join()
        self.assertEqual(out, bytearray(b'AABBCCDD'))
        self.assertEqual(self.seen[0][1], b'BB')

    def test_gatherv_with_counts_and_displacements(self):
        comm, _ = self.comm4()
        parts = [b'a', b'', b'ccc', b'dd']
        t = self.serve(2, lambda frames: coll_reply(frames, parts))
        out = bytearray(b'.' * 8)
        comm.Gatherv(MPI.IN_PLACE, [out, [1, 0, 3, 2], [7, 0, 1, 4], MPI.BYTE], root=1)
        t.join()
        self.assertEqual(out, bytearray(b'.cccdd.a'))
        self.assertEqual(self.seen[0][0]['parts'], [0])       # in place: my empty slot

    def test_allgather_counts_must_match(self):
        comm, _ = self.comm4()
        with self.assertRaises(ValueError):
            comm.Allgather(b'xy', bytearray(12))               # 2 bytes sent, 3 per slot

    def test_bcast_longer_than_the_buffer_is_err_truncate_and_the_stream_stays_whole(self):
        comm, _ = self.comm4()
        t = self.serve(2, lambda frames: coll_reply(frames, [b'0123456789']))
        dst = bytearray(4)
        self.assertErrorClass(MPI.ERR_TRUNCATE, comm.Bcast, dst, 0)
        t.join()
        self.assertEqual(dst, bytearray(b'0123'))
        t = self.serve(2, lambda frames: coll_reply(frames, pickled('next')))
        self.assertEqual(comm.bcast(None, root=0), 'next')
        t.join()

    def test_nonblocking_collective_completes_on_wait(self):
        comm, _ = self.comm4()
        out = array.array('i', [0] * 4)
        req = comm.Iallgather(array.array('i', [5]), out)
        (icoll, _), = read_frames(self.agent, 1)
        self.assertEqual(icoll['coll'], 'allgather')
        self.assertEqual(list(out), [0, 0, 0, 0])
        parts = [array.array('i', [v]).tobytes() for v in (4, 5, 6, 7)]
        t = self.serve(1, lambda frames: coll_reply([({'req': icoll['req']}, b'')], parts))
        req.Wait()
        t.join()
        self.assertEqual(list(out), [4, 5, 6, 7])

    def test_allreduce_asks_the_agent_to_fold_and_takes_its_one_part_as_the_result(self):
        comm, _ = self.comm4()
        out = array.array('d', [0.0])
        t = self.serve(2, lambda frames: coll_reply(frames, [array.array('d', [10.0]).tobytes()]))
        comm.Allreduce(array.array('d', [2.0]), out, op=MPI.SUM)
        t.join()
        # 8 B over 4 ranks: Open MPI's recursive doubling, (0 + 1) + (2 + 3)
        self.assertEqual(self.seen[0][0]['fold'], 'sum/f8/1/0-1:0,1,.,2,3,.,.')
        self.assertEqual(list(out), [10.0])

    def test_the_agent_not_folding_still_works(self):
        comm, _ = self.comm4()
        out = array.array('d', [0.0])
        parts = [array.array('d', [v]).tobytes() for v in (1.0, 2.0, 3.0, 4.0)]
        t = self.serve(2, lambda frames: coll_reply(frames, parts))
        comm.Allreduce(array.array('d', [2.0]), out, op=MPI.SUM)
        t.join()
        self.assertEqual(list(out), [10.0])

    def test_folds_the_agent_cannot_do_exactly_are_not_asked_for(self):
        comm, _ = self.comm4()
        one = array.array('d', [1.0])
        calls = ((comm.Allreduce, (one, array.array('d', [0.0]), MPI.LAND)),
                 (comm.Reduce, (one, array.array('d', [0.0]), MPI.SUM, 1)),     # I am the root
                 (comm.Scan, (one, array.array('d', [0.0]), MPI.SUM)),
                 (comm.Exscan, (one, array.array('d', [0.0]), MPI.SUM)),
                 (comm.Reduce_scatter_block, (array.array('d', [1.0] * 4), array.array('d', [0.0]))))
        for call, args in calls:
            t = self.serve(2, lambda frames: coll_reply(frames, [one.tobytes()] * 4))
            call(*args)
            t.join()
            self.assertNotIn('fold', self.seen[0][0], call.__name__)

    def test_reduce_scatter_alone_into_a_short_buffer_still_raises(self):
        comm, _ = member_comm(self, [0])
        sent = array.array('d', [1.0, 2.0])
        t = self.serve(2, lambda frames: coll_reply(frames, [sent.tobytes()]))
        with self.assertRaises(ValueError):
            comm.Reduce_scatter(sent, array.array('d', [0.0]), [2])
        t.join()
        t = self.serve(2, lambda frames: coll_reply(frames, pickled('next')))
        self.assertEqual(comm.allgather('x'), ['next'])          # the channel kept in step
        t.join()

    def test_the_collective_names_its_call(self):
        comm, _ = self.comm4()
        t = self.serve(2, lambda frames: coll_reply(frames))
        comm.Barrier()
        t.join()
        self.assertEqual((self.seen[0][0]['coll'], self.seen[1][0]['op']), ('barrier', 'wait'))


class TestNewCommunicators(CommCase):

    def test_split_orders_by_key_then_old_rank(self):
        comm, _ = self.comm4()                          # world ranks 7, 0, 9, 8
        pairs = pickled((0, 0), (1, 3), (1, 1), (1, 3))
        t = self.serve(2, lambda frames: coll_reply(frames, pairs))
        sub = comm.Split(color=1, key=3)
        t.join()
        self.assertEqual((sub.rank, sub.size), (1, 3))
        (reg, _), = queued_frames(self)
        self.assertEqual(reg['group'], [9, 0, 8])
        self.assertEqual(sub.Compare(comm), MPI.UNEQUAL)

    def test_split_with_undefined_color_gives_comm_null(self):
        comm, _ = self.comm4()
        pairs = pickled((0, 0), (MPI.UNDEFINED, 0), (0, 1), (0, 2))
        t = self.serve(2, lambda frames: coll_reply(frames, pairs))
        self.assertEqual(comm.Split(MPI.UNDEFINED), MPI.COMM_NULL)
        t.join()
        self.assertEqual(queued_frames(self), [])

    def test_create_outside_the_group_gives_comm_null(self):
        self.assertEqual(MPI.COMM_WORLD.Create(MPI.Group(_ranks=[3, 4], _me=0)),
                         MPI.COMM_NULL)

    def test_compare(self):
        comm, _ = self.comm4()
        self.assertEqual(comm.Compare(comm), MPI.IDENT)
        self.assertEqual(MPI.Comm.Compare(comm, comm.Dup()), MPI.CONGRUENT)
        similar, _ = member_comm(self, [0, 7, 8, 9])
        self.assertEqual(comm.Compare(similar), MPI.SIMILAR)
        self.assertEqual(comm.Compare(MPI.COMM_SELF), MPI.UNEQUAL)

    def test_free_tells_the_agent_and_leaves_a_null_handle(self):
        comm, reg = self.comm4()
        dup = comm.Dup()
        (dupreg, _), = queued_frames(self)
        self.assertEqual(dupreg['group'], reg['group'])
        self.assertNotEqual(dupreg['ctx'], reg['ctx'])
        dup.Free()
        (free, _), = queued_frames(self)
        self.assertEqual(free, {'op': 'free', 'ctx': dupreg['ctx']})
        self.assertEqual(dup, MPI.COMM_NULL)
        self.assertErrorClass(MPI.ERR_COMM, dup.Get_size)

    def test_name_is_shared_by_copies(self):
        comm, _ = self.comm4()
        MPI.Intracomm(comm).Set_name('mine')
        self.assertEqual(comm.name, 'mine')


class TestAttributes(CommCase):

    def test_predefined_attributes(self):
        comm = MPI.COMM_WORLD
        self.assertEqual(comm.Get_attr(MPI.TAG_UB), 2147483647)
        self.assertEqual(comm.Get_attr(MPI.UNIVERSE_SIZE), comm.size)
        self.assertEqual(comm.Get_attr(MPI.APPNUM), 0)

    def test_user_keyvals(self):
        comm, _ = self.comm4()
        k1, k2 = MPI.Comm.Create_keyval(), MPI.Comm.Create_keyval()
        self.assertNotEqual(k1, k2)
        comm.Set_attr(k1, {'x': 1})
        self.assertEqual((comm.Get_attr(k1), comm.Get_attr(k2)), ({'x': 1}, None))
        comm.Delete_attr(k1)
        self.assertIsNone(comm.Get_attr(k1))


class TestUnsupported(unittest.TestCase):

    def test_each_entry_point_names_itself(self):
        comm = MPI.COMM_WORLD
        for name in ('Create_intercomm', 'Spawn', 'Spawn_multiple', 'Accept', 'Connect'):
            with self.assertRaises(NotImplementedError) as cm:
                getattr(comm, name)('any', arg=1)
            self.assertEqual(str(cm.exception),
                             'MPI.Intracomm.%s is not supported by mpiaas' % name)
        with self.assertRaises(NotImplementedError) as cm:
            MPI.Intracomm.Create_from_group(MPI.GROUP_EMPTY)
        self.assertIn('Intracomm.Create_from_group', str(cm.exception))


if __name__ == '__main__':
    unittest.main()
