"""Graph and distributed graph topologies (MPI.Graphcomm, MPI.Distgraphcomm): their edges
as each member sees them, the weights, the general Create_dist_graph (every process's named
edges gathered), and the checks mpi4py makes of their arguments and constructors."""
import unittest

from mpi4py import MPI

from scripted_agent import AgentCase, member_comm, queued_frames, coll_reply, pickled

RING = ([2, 4, 6, 8], [3, 1, 0, 2, 1, 3, 2, 0])     # 4 nodes, each linked to -1 and +1


class GraphCase(AgentCase):

    def comm(self, me_at=1, size=4):
        ranks = [10 + i for i in range(size)]
        ranks[me_at] = 0
        comm, _ = member_comm(self, ranks)
        return comm


class TestGraphcomm(GraphCase):

    def test_every_member_knows_the_whole_graph(self):
        graph = self.comm(me_at=1).Create_graph(*RING)
        self.assertIsInstance(graph, MPI.Graphcomm)
        self.assertEqual(graph.Get_topology(), MPI.GRAPH)
        self.assertEqual((graph.dims, graph.nnodes, graph.nedges), ((4, 8), 4, 8))
        self.assertEqual(graph.topo, RING)
        self.assertEqual(graph.Get_neighbors(3), [2, 0])
        self.assertEqual((graph.neighbors, graph.nneighbors), ([0, 2], 2))
        self.assertEqual(graph.inoutedges, ([0, 2], [0, 2]))
        with self.assertRaises(MPI.Exception) as cm:
            graph.Get_neighbors(4)
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_RANK)

    def test_standard_index_with_a_leading_zero_is_taken(self):
        graph = self.comm().Create_graph([0] + RING[0], RING[1])
        self.assertEqual(graph.index, RING[0])

    def test_ranks_beyond_the_nodes_get_comm_null_and_map_to_undefined(self):
        comm = self.comm(me_at=3)
        self.assertEqual(comm.Create_graph([1, 2, 2], [1, 0]), MPI.COMM_NULL)
        self.assertEqual(comm.Graph_map([1, 2, 2], [1, 0]), MPI.UNDEFINED)
        self.assertEqual(comm.Graph_map(*RING), 3)
        self.assertEqual(comm.Cart_map([2, 2]), 3)
        self.assertEqual(comm.Cart_map([3]), MPI.UNDEFINED)

    def test_bad_graphs(self):
        comm = self.comm()
        for index, edges, errclass in (([1, 2, 3, 4, 5], [0] * 5, MPI.ERR_ARG),     # > size
                                       ([2, 1], [0, 1], MPI.ERR_ARG),              # decreasing
                                       ([1, 2], [0, 2], MPI.ERR_RANK)):            # no node 2
            with self.assertRaises(MPI.Exception) as cm:
                comm.Create_graph(index, edges)
            self.assertEqual(cm.exception.Get_error_class(), errclass, (index, edges))

    def test_dup_keeps_the_graph(self):
        dup = self.comm().Create_graph(*RING).Dup()
        self.assertIsInstance(dup, MPI.Graphcomm)
        self.assertEqual(dup.topo, RING)


class TestDistgraphcomm(GraphCase):

    def test_adjacent_edges_and_weights(self):
        comm = self.comm()
        graph = comm.Create_dist_graph_adjacent([3, 0], [2, 3])
        self.assertIsInstance(graph, MPI.Distgraphcomm)
        self.assertEqual(graph.Get_topology(), MPI.DIST_GRAPH)
        self.assertEqual(graph.Get_dist_neighbors_count(), (2, 2, False))
        self.assertEqual(graph.Get_dist_neighbors(), ([3, 0], [2, 3], None))
        weighted = comm.Create_dist_graph_adjacent([3, 0], [2, 3], [1, 2], [3, 4])
        self.assertEqual(weighted.Get_dist_neighbors(), ([3, 0], [2, 3], ([1, 2], [3, 4])))
        empty = comm.Create_dist_graph_adjacent([], [], MPI.WEIGHTS_EMPTY, MPI.WEIGHTS_EMPTY)
        self.assertEqual(empty.Get_dist_neighbors(), ([], [], ([], [])))
        sources_only = comm.Create_dist_graph_adjacent([3], None, MPI.UNWEIGHTED, None)
        self.assertEqual(sources_only.Get_dist_neighbors_count(), (1, 0, False))

    def test_bad_weights_and_ranks(self):
        comm = self.comm()
        with self.assertRaisesRegex(ValueError, 'WEIGHTS_EMPTY with 1 edges'):
            comm.Create_dist_graph_adjacent([0], [0], MPI.WEIGHTS_EMPTY, MPI.WEIGHTS_EMPTY)
        with self.assertRaisesRegex(ValueError, 'expecting 2 weights, got 1'):
            comm.Create_dist_graph_adjacent([0, 1], [0], [5])
        with self.assertRaises(MPI.Exception) as cm:
            comm.Create_dist_graph_adjacent([4], [0])
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_RANK)

    def test_general_form_keeps_the_edges_that_start_or_end_here(self):
        comm = self.comm(me_at=1)
        queued_frames(self)
        # every process names edges; this one (rank 1) names 1->0 and 1->2; the agent hands
        # back everyone's, in rank order
        everyone = pickled(([(0, 1, None)], False), ([(1, 0, None), (1, 2, None)], False),
                           ([(2, 1, None), (3, 1, None)], False), ([], False))
        t = self.serve(2, lambda frames: coll_reply(frames, everyone))
        graph = comm.Create_dist_graph([1], [2], [0, 2])
        t.join()
        self.assertEqual(self.seen[0][0]['coll'], 'allgather')
        self.assertEqual(graph.Get_dist_neighbors(), ([0, 2, 3], [0, 2], None))

    def test_general_form_is_weighted_if_anyone_gave_weights(self):
        comm = self.comm(me_at=1)
        queued_frames(self)
        everyone = pickled(([(0, 1, 7)], True), ([], False), ([], False), ([], False))
        t = self.serve(2, lambda frames: coll_reply(frames, everyone))
        graph = comm.Create_dist_graph([], [], [])
        t.join()
        self.assertEqual(graph.Get_dist_neighbors(), ([0], [], ([7], [])))


class TestTopologyHandles(GraphCase):

    def test_a_topology_class_is_made_only_from_its_own_kind(self):
        comm = self.comm()
        graph = comm.Create_graph(*RING)
        cart = comm.Create_cart([4])
        for cls, other in ((MPI.Cartcomm, graph), (MPI.Graphcomm, cart),
                           (MPI.Distgraphcomm, cart), (MPI.Topocomm, comm)):
            with self.assertRaises(TypeError):
                cls(other)
        self.assertIsInstance(MPI.Graphcomm(graph), MPI.Graphcomm)
        self.assertEqual(MPI.Cartcomm(MPI.COMM_NULL), MPI.COMM_NULL)

    def test_fortran_and_integer_handles_give_the_communicator_back(self):
        graph = self.comm().Create_graph(*RING)
        back = MPI.Comm.f2py(graph.py2f())
        self.assertEqual((type(back), back), (MPI.Graphcomm, graph))
        self.assertEqual(MPI.Comm.fromint(graph.toint()), graph)

    def test_weights_sentinels_are_distinct(self):
        self.assertIsNot(MPI.UNWEIGHTED, MPI.WEIGHTS_EMPTY)
        self.assertIsNotNone(MPI.UNWEIGHTED)
        self.assertEqual(repr(MPI.WEIGHTS_EMPTY), 'MPI.WEIGHTS_EMPTY')


if __name__ == '__main__':
    unittest.main()
