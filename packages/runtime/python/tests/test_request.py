"""Requests (mpi4py/_request.py) against a scripted agent: completions that arrive during
another call, errors reported per status, persistent requests, Get_status leaving a
request as it is, and freed requests whose completion still comes."""
import unittest

from mpi4py import MPI
from mpi4py._channel import channel

from scripted_agent import AgentCase, member_comm
from test_channel import encode, read_frames


def done(*comps):
    """A wait/test reply: comps are (request id, payload, source, tag) of receives."""
    return encode({'done': [{'req': r, 'kind': 'recv', 'source': s, 'tag': t,
                             'count': len(p)} for r, p, s, t in comps],
                   'parts': [len(p) for _, p, _, _ in comps]}, [p for _, p, _, _ in comps])


class RequestCase(AgentCase):

    def irecv(self, nbytes, source=0, tag=0):
        """A receive posted at the agent: (request, buffer, agent request id)."""
        buf = bytearray(nbytes)
        req = MPI.COMM_WORLD.Irecv(buf, source, tag)
        channel.flush()         # a posted receive waits for the next write (oneway_later)
        (hdr, _), = read_frames(self.agent, 1)
        return req, buf, hdr['req']

    def assertNoTraffic(self):
        self.agent.setblocking(False)
        with self.assertRaises(BlockingIOError):
            self.agent.recv(1)
        self.agent.setblocking(True)


class TestPostedReceives(RequestCase):

    def test_a_posted_receive_leaves_with_the_next_call_in_one_write(self):
        # its data can reach the rank only in the reply to a later call, so it waits for
        # that call's write: a window of Irecvs and its Waitall are one system call
        bufs = [bytearray(1) for _ in range(3)]
        reqs = [MPI.COMM_WORLD.Irecv(buf, 0, tag) for tag, buf in enumerate(bufs)]
        self.assertNoTraffic()

        def reply(frames):
            self.assertEqual([h['op'] for h, _ in frames], ['irecv', 'irecv', 'irecv', 'wait'])
            self.assertEqual(frames[3][0]['reqs'], [r._id for r in reqs])
            return done(*[(r._id, b'%d' % tag, 0, tag) for tag, r in enumerate(reqs)])
        t = self.serve(4, reply)
        self.assertTrue(MPI.Request.Waitall(reqs))
        t.join()
        self.assertEqual(bufs, [bytearray(b'0'), bytearray(b'1'), bytearray(b'2')])


class TestCompletion(RequestCase):

    def test_a_completion_that_arrives_early_needs_no_second_call(self):
        ra, a, ida = self.irecv(2, tag=1)
        rb, b, idb = self.irecv(2, tag=2)
        # the agent answers the wait on ra with rb's completion too
        t = self.serve(1, lambda frames: done((ida, b'aa', 0, 1), (idb, b'bb', 0, 2)))
        ra.Wait()
        t.join()
        self.assertEqual(b, bytearray(b'bb'))       # landed during ra's wait
        st = MPI.Status()
        self.assertTrue(rb.Test(st))
        self.assertEqual((st.tag, rb), (2, MPI.REQUEST_NULL))
        self.assertNoTraffic()

    def test_testall_is_false_until_every_request_is_done(self):
        ra, _, ida = self.irecv(1)
        rb, _, idb = self.irecv(1)
        t = self.serve(1, lambda frames: done((ida, b'a', 0, 0)))
        self.assertFalse(MPI.Request.Testall([ra, rb]))
        t.join()
        self.assertEqual(self.seen[0][0]['reqs'], [ida, idb])
        self.assertNotEqual(ra, MPI.REQUEST_NULL)           # not handed out yet
        t = self.serve(1, lambda frames: done((idb, b'b', 0, 0)))
        self.assertTrue(MPI.Request.Testall([ra, rb]))
        t.join()
        self.assertEqual(self.seen[0][0]['reqs'], [idb])    # ra is not asked about again
        self.assertEqual((ra, rb), (MPI.REQUEST_NULL, MPI.REQUEST_NULL))

    def test_waitsome_gives_the_done_ones_with_packed_statuses(self):
        reqs = [self.irecv(1, tag=t) for t in range(3)]
        t = self.serve(1, lambda frames: done((reqs[2][2], b'z', 0, 2)))
        statuses = [MPI.Status() for _ in range(3)]
        self.assertEqual(MPI.Request.Waitsome([r for r, _, _ in reqs], statuses), [2])
        t.join()
        self.assertEqual(self.seen[0][0]['mode'], 'some')
        self.assertEqual([s.tag for s in statuses], [2, MPI.ANY_TAG, MPI.ANY_TAG])

    def test_an_error_in_waitall_is_err_in_status_and_the_status_says_which(self):
        ra, _, ida = self.irecv(4)
        rb, _, idb = self.irecv(1)
        t = self.serve(1, lambda frames: done((ida, b'four', 3, 0), (idb, b'long', 3, 0)))
        statuses = []
        with self.assertRaises(MPI.Exception) as cm:
            MPI.Request.Waitall([ra, rb], statuses)
        t.join()
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_IN_STATUS)
        self.assertEqual([s.error for s in statuses], [0, MPI.ERR_TRUNCATE])
        self.assertEqual((ra, rb), (MPI.REQUEST_NULL, MPI.REQUEST_NULL))

    def test_a_single_wait_raises_the_error_itself(self):
        r, _, n = self.irecv(1)
        t = self.serve(1, lambda frames: done((n, b'two', 0, 0)))
        with self.assertRaises(MPI.Exception) as cm:
            r.Wait()
        t.join()
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_TRUNCATE)

    def test_get_status_leaves_the_request_to_be_completed(self):
        r, buf, n = self.irecv(3, source=0, tag=8)
        t = self.serve(1, lambda frames: done((n, b'abc', 0, 8)))
        st = MPI.Status()
        self.assertTrue(r.Get_status(st))
        t.join()
        self.assertEqual((self.seen[0][0]['op'], st.tag, st.Get_count()), ('test', 8, 3))
        self.assertNotEqual(r, MPI.REQUEST_NULL)
        r.Wait()
        self.assertNoTraffic()
        self.assertEqual((buf, r), (bytearray(b'abc'), MPI.REQUEST_NULL))

    def test_a_freed_requests_late_completion_does_not_disturb_the_others(self):
        ra, a, ida = self.irecv(3)
        rb, b, idb = self.irecv(3)
        ra.Free()
        self.assertEqual(ra, MPI.REQUEST_NULL)
        t = self.serve(1, lambda frames: done((ida, b'old', 0, 0), (idb, b'new', 0, 0)))
        rb.Wait()
        t.join()
        self.assertEqual((a, b), (bytearray(3), bytearray(b'new')))

    def test_a_collective_error_surfaces_at_its_wait(self):
        comm, _ = member_comm(self, [5, 0])            # rank 1: receives root 0's
        dst = bytearray(2)
        req = comm.Ibcast(dst, root=0)
        (icoll, _), = read_frames(self.agent, 1)
        reply = encode({'done': [{'req': icoll['req'], 'kind': 'coll', 'counts': [5]}],
                        'parts': [5]}, [b'12345'])
        t = self.serve(1, lambda frames: reply)
        with self.assertRaises(MPI.Exception) as cm:
            req.Wait()
        t.join()
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_TRUNCATE)
        self.assertEqual((dst, req), (bytearray(b'12'), MPI.REQUEST_NULL))


class TestLowerCase(RequestCase):

    def test_irecv_unpickles_on_wait(self):
        import pickle
        req = MPI.COMM_WORLD.irecv(source=0, tag=3)
        channel.flush()
        (hdr, _), = read_frames(self.agent, 1)
        data = pickle.dumps({'k': [1, 2]})
        t = self.serve(1, lambda frames: done((hdr['req'], data, 0, 3)))
        self.assertEqual(req.wait(), {'k': [1, 2]})
        t.join()
        self.assertEqual(req.test(), (True, None))      # null now


class TestPersistent(RequestCase):

    def test_each_start_posts_the_operation_again(self):
        buf = bytearray(2)
        req = MPI.COMM_WORLD.Recv_init(buf, 0, 4)
        self.assertNotEqual(req, MPI.REQUEST_NULL)      # inactive, not null
        self.assertTrue(req.Test())                     # nothing started: done at once
        ids = []
        for payload in (b'p1', b'p2'):
            req.Start()
            channel.flush()
            (hdr, _), = read_frames(self.agent, 1)
            ids.append(hdr['req'])
            t = self.serve(1, lambda frames: done((hdr['req'], payload, 0, 4)))
            st = MPI.Status()
            req.Wait(st)
            t.join()
            self.assertEqual((buf, st.tag), (bytearray(payload), 4))
        self.assertNotEqual(ids[0], ids[1])
        self.assertNotEqual(req, MPI.REQUEST_NULL)
        req.Free()
        self.assertEqual(req, MPI.REQUEST_NULL)

    def test_startall(self):
        reqs = [MPI.COMM_WORLD.Send_init(b'x', 0, t) for t in (1, 2)]
        MPI.Prequest.Startall(reqs)
        frames = read_frames(self.agent, 2)
        self.assertEqual([h['tag'] for h, _ in frames], [1, 2])
        self.assertTrue(MPI.Request.Testall(reqs))      # eager sends: done already
        self.assertNoTraffic()


class TestPersistentCollectives(RequestCase):

    def coll_done(self, req_id, parts=()):
        return encode({'done': [{'req': req_id, 'kind': 'coll', 'counts': [len(p) for p in parts]}],
                       'parts': [len(p) for p in parts]}, parts)

    def test_each_start_starts_the_collective_with_the_buffer_as_it_is_then(self):
        buf = bytearray(b'ab')
        req = MPI.COMM_WORLD.Bcast_init(buf, 0, MPI.INFO_NULL)     # info by position
        self.assertNotEqual(req, MPI.REQUEST_NULL)
        ids = []
        for payload in (b'ab', b'cd'):
            buf[:] = payload
            req.Start()
            (hdr, body), = read_frames(self.agent, 1)
            self.assertEqual((hdr['op'], hdr['coll'], hdr['root'], body), ('icoll', 'bcast', 0, payload))
            ids.append(hdr['req'])
            t = self.serve(1, lambda frames: self.coll_done(hdr['req']))
            req.Wait()
            t.join()
        self.assertNotEqual(ids[0], ids[1])
        req.Free()
        self.assertEqual(req, MPI.REQUEST_NULL)

    def test_the_result_lands_at_each_wait_and_an_error_in_it_is_raised_there(self):
        send, recv = bytearray(8), bytearray(8)
        req = MPI.COMM_WORLD.Allreduce_init(send, recv, MPI.SUM, info=MPI.INFO_NULL)
        req.Start()
        (hdr, _), = read_frames(self.agent, 1)
        t = self.serve(1, lambda frames: self.coll_done(hdr['req'], [bytes(range(8))]))
        req.Wait()
        t.join()
        self.assertEqual(recv, bytes(range(8)))
        req.Start()
        (hdr, _), = read_frames(self.agent, 1)
        t = self.serve(1, lambda frames: self.coll_done(hdr['req'], [bytes(16)]))   # 2 parts' worth
        with self.assertRaises(ValueError):
            req.Wait()
        t.join()
        self.assertNotEqual(req, MPI.REQUEST_NULL)      # inactive: it can start again

    def test_every_collective_and_neighbourhood_one_has_its_init(self):
        for name in ('Barrier', 'Bcast', 'Gather', 'Gatherv', 'Scatter', 'Scatterv', 'Allgather',
                     'Allgatherv', 'Alltoall', 'Alltoallv', 'Alltoallw', 'Reduce', 'Allreduce',
                     'Reduce_scatter_block', 'Reduce_scatter', 'Scan', 'Exscan'):
            self.assertEqual(getattr(MPI.Comm, name + '_init').__name__, name + '_init')
        for name in ('allgather', 'allgatherv', 'alltoall', 'alltoallv', 'alltoallw'):
            self.assertTrue(callable(getattr(MPI.Topocomm, 'Neighbor_%s_init' % name)))
        with self.assertRaises(MPI.Exception):
            MPI.COMM_NULL.Barrier_init()


class TestHandles(unittest.TestCase):

    def test_copies_compare_equal_and_null_ones_are_request_null(self):
        r = MPI.COMM_SELF.Isend(b'', MPI.PROC_NULL)
        self.assertEqual(MPI.Request(r), r)
        self.assertNotEqual(r, MPI.REQUEST_NULL)
        r.Wait()
        self.assertEqual(r, MPI.REQUEST_NULL)
        self.assertFalse(r)

    def test_null_requests_cannot_be_freed_or_cancelled(self):
        for call in (MPI.Request().Free, MPI.Request().Cancel):
            with self.assertRaises(MPI.Exception) as cm:
                call()
            self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_REQUEST)
        MPI.Request().free()        # mpi4py 4.x: free of a null request is fine

    def test_grequest(self):
        with self.assertRaises(TypeError):
            MPI.Grequest(MPI.Request())
        with self.assertRaises(NotImplementedError):
            MPI.Grequest.Start(lambda: None, lambda: None, lambda: None)


if __name__ == '__main__':
    unittest.main()
