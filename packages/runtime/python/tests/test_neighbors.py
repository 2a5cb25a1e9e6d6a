"""Neighbourhood collectives (Neighbor_allgather/alltoall and their v, w, non-blocking and
lower-case forms): one alltoall at the agent whose part for rank j holds, behind a table of
their lengths, every block sent to j; and where each block received lands, by the
topology's rule when one rank is several of the neighbours."""
import struct
import unittest

import numpy as np
from mpi4py import MPI

from scripted_agent import AgentCase, member_comm, queued_frames, coll_reply, pickled


def part(*blocks):
    """A part as the shim sends it: the number of blocks, their lengths, the blocks."""
    return struct.pack('<%dI' % (len(blocks) + 1), len(blocks), *map(len, blocks)) + b''.join(blocks)


def split_parts(header, body):
    """The body of a collective's frame cut into its parts."""
    out, at = [], 0
    for n in header['parts']:
        out.append(body[at:at + n])
        at += n
    return out


def ints(*values):
    return np.array(values, dtype='i').tobytes()


class NeighborCase(AgentCase):

    def topo(self, make, me_at=1, size=4):
        ranks = [10 + i for i in range(size)]
        ranks[me_at] = 0
        comm, _ = member_comm(self, ranks)
        topo = make(comm)
        queued_frames(self)         # its registration
        return topo

    def exchange(self, call, replies):
        """Runs call() against an agent that answers its alltoall with `replies` (one part
        per rank); returns (what call returned, the parts this rank sent)."""
        t = self.serve(2, lambda frames: coll_reply(frames, replies))
        result = call()
        t.join()
        header, body = self.seen[0]
        self.assertEqual(header['coll'], 'alltoall')
        return result, split_parts(header, body)


class TestCartesian(NeighborCase):

    def test_blocks_go_to_the_minus_and_plus_neighbours_and_come_back_crosswise(self):
        cart = self.topo(lambda c: c.Create_cart([4], periods=[True]))       # I am rank 1
        recv = np.full(2, -1, dtype='i')
        # rank 0 is my -1 neighbour: its block towards +1 is mine from -1; rank 2 the other way
        replies = [part(ints(100)), b'', part(ints(200)), b'']
        _, sent = self.exchange(lambda: cart.Neighbor_alltoall(np.array([7, 8], 'i'), recv), replies)
        self.assertEqual(sent, [part(ints(7)), b'', part(ints(8)), b''])
        self.assertEqual(recv.tolist(), [100, 200])

    def test_a_rank_that_is_both_neighbours_sends_both_blocks_and_they_are_swapped(self):
        cart = self.topo(lambda c: c.Create_cart([2], periods=[True]), size=2)
        recv = np.full(2, -1, dtype='i')
        # rank 0 sends me its -1 block (3) then its +1 block (4): its +1 block is my -1 slot
        replies = [part(ints(3), ints(4)), b'']
        _, sent = self.exchange(lambda: cart.Neighbor_alltoall(np.array([5, 6], 'i'), recv), replies)
        self.assertEqual(sent, [part(ints(5), ints(6)), b''])
        self.assertEqual(recv.tolist(), [4, 3])

    def test_proc_null_neighbours_send_nothing_and_get_none(self):
        cart = self.topo(lambda c: c.Create_cart([4], periods=[False]), me_at=0)
        got, sent = self.exchange(lambda: cart.neighbor_alltoall(['left', 'right']),
                                  [b'', part(*pickled('from 1')), b'', b''])
        self.assertEqual(got, [None, 'from 1'])
        self.assertEqual(sent[1], part(*pickled('right')))
        self.assertEqual([sent[0], sent[2], sent[3]], [b'', b'', b''])


class TestGraphs(NeighborCase):

    def test_repeated_edges_land_in_order_of_occurrence(self):
        graph = self.topo(lambda c: c.Create_dist_graph_adjacent([2, 0, 2], [2]))
        recv = np.full(3, -1, dtype='i')
        replies = [part(ints(10)), b'', part(ints(20), ints(21)), b'']
        _, sent = self.exchange(lambda: graph.Neighbor_allgather(np.array([9], 'i'), recv), replies)
        self.assertEqual(sent, [b'', b'', part(ints(9)), b''])
        self.assertEqual(recv.tolist(), [20, 10, 21])

    def test_vector_forms_take_counts_and_displacements(self):
        graph = self.topo(lambda c: c.Create_graph([1, 3, 4, 5], [1, 0, 2, 1, 1]))     # 1: 0, 2
        recv = np.full(5, -1, dtype='i')
        send = np.array([1, 2, 3], dtype='i')
        replies = [part(ints(40, 41)), b'', part(ints(50)), b'']
        _, sent = self.exchange(lambda: graph.Neighbor_alltoallv([send, ([1, 2], [0, 1])],
                                                                 [recv, ([2, 1], [3, 0])]),
                                replies)
        self.assertEqual(sent, [part(ints(1)), b'', part(ints(2, 3)), b''])
        self.assertEqual(recv.tolist(), [50, -1, -1, 40, 41])

    def test_lower_case_allgather_and_a_non_blocking_alltoall(self):
        graph = self.topo(lambda c: c.Create_dist_graph_adjacent([0, 3], [3]))
        got, sent = self.exchange(lambda: graph.neighbor_allgather({'a': 1}),
                                  [part(*pickled('x')), b'', b'', part(*pickled('y'))])
        self.assertEqual((got, sent[3]), (['x', 'y'], part(*pickled({'a': 1}))))
        recv = np.zeros(2, dtype='i')
        t = self.serve(1, lambda frames: None)
        req = graph.Ineighbor_alltoall(np.array([4], 'i'), recv)
        t.join()
        started = self.seen
        t = self.serve(1, lambda frames: coll_reply(started, [part(ints(1)), b'', b'', part(ints(2))]))
        req.Wait()
        t.join()
        self.assertEqual(recv.tolist(), [1, 2])


class TestErrors(NeighborCase):

    def test_a_block_too_long_is_truncate_and_the_channel_stays_in_step(self):
        graph = self.topo(lambda c: c.Create_dist_graph_adjacent([0], [0]))
        recv = np.zeros(1, dtype='i')
        t = self.serve(2, lambda frames: coll_reply(frames, [part(ints(1, 2)), b'', b'', b'']))
        with self.assertRaises(MPI.Exception) as cm:
            graph.Neighbor_alltoall(np.array([5], 'i'), recv)
        t.join()
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_TRUNCATE)
        self.assertEqual(recv.tolist(), [1])
        got, _ = self.exchange(lambda: graph.neighbor_allgather(3), [part(*pickled(4)), b'', b'', b''])
        self.assertEqual(got, [4])

    def test_send_and_receive_counts_must_match_for_allgather(self):
        graph = self.topo(lambda c: c.Create_dist_graph_adjacent([0], [0]))
        with self.assertRaisesRegex(ValueError, 'mismatch in send count'):
            graph.Neighbor_allgather(np.zeros(2, 'i'), np.zeros(3, 'i'))


if __name__ == '__main__':
    unittest.main()
