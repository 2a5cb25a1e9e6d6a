"""Cartesian topologies (MPI.Cartcomm, MPI.Compute_dims): row-major coordinates, periodic
wrap, shifts, sub-grids, and the errors MPI names for bad grids."""
import unittest

from mpi4py import MPI

from scripted_agent import AgentCase, member_comm, queued_frames, coll_reply, pickled


class TestComputeDims(unittest.TestCase):

    def test_balanced_and_non_increasing(self):
        self.assertEqual(MPI.Compute_dims(24, 3), [4, 3, 2])
        self.assertEqual(MPI.Compute_dims(1, 2), [1, 1])
        self.assertEqual(MPI.Compute_dims(12, [0, 0]), [4, 3])

    def test_given_dims_are_kept(self):
        self.assertEqual(MPI.Compute_dims(12, [0, 2, 0]), [3, 2, 2])
        self.assertEqual(MPI.Compute_dims(6, [3, 2]), [3, 2])

    def test_impossible_grids_are_err_dims(self):
        for nnodes, dims in ((7, [2, 0]), (6, [-1, 0]), (6, [4, 2]), (6, [0, 4])):
            with self.assertRaises(MPI.Exception) as cm:
                MPI.Compute_dims(nnodes, dims)
            self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_DIMS, (nnodes, dims))


class CartCase(AgentCase):

    def cart(self, dims, periods, me_at=4, size=6):
        """A Cartcomm over a communicator of `size` members where this process is rank
        me_at."""
        ranks = [10 + i for i in range(size)]
        ranks[me_at] = 0
        comm, _ = member_comm(self, ranks)
        return comm, comm.Create_cart(dims, periods)

    def assertErrorClass(self, errclass, fn, *args):
        with self.assertRaises(MPI.Exception) as cm:
            fn(*args)
        self.assertEqual(cm.exception.Get_error_class(), errclass)


class TestCartcomm(CartCase):

    def test_shape_and_coordinates_are_row_major(self):
        _, cart = self.cart([2, 3], [True, False])
        self.assertIsInstance(cart, MPI.Cartcomm)
        self.assertIsInstance(cart, MPI.Topocomm)
        self.assertEqual((cart.rank, cart.size, cart.ndim), (4, 6, 2))
        self.assertEqual(cart.Get_topology(), MPI.CART)
        self.assertEqual(cart.topo, ([2, 3], [1, 0], [1, 1]))
        self.assertEqual([cart.Get_coords(r) for r in range(6)],
                         [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]])
        self.assertErrorClass(MPI.ERR_RANK, cart.Get_coords, 6)

    def test_cart_rank_wraps_periodic_dimensions_only(self):
        _, cart = self.cart([2, 3], [True, False])
        self.assertEqual(cart.Get_cart_rank([1, 2]), 5)
        self.assertEqual(cart.Get_cart_rank([-1, 2]), 5)       # dimension 0 is periodic
        self.assertEqual(cart.Get_cart_rank([3, 0]), 3)
        self.assertErrorClass(MPI.ERR_RANK, cart.Get_cart_rank, [0, 3])
        self.assertErrorClass(MPI.ERR_RANK, cart.Get_cart_rank, [0, -1])

    def test_shift_gives_proc_null_past_a_non_periodic_edge(self):
        _, cart = self.cart([2, 3], [True, False])      # I am (1, 1)
        self.assertEqual(cart.Shift(0, 1), (1, 1))      # (0, 1) both ways: it wraps
        self.assertEqual(cart.Shift(1, 1), (3, 5))
        self.assertEqual(cart.Shift(1, 2), (MPI.PROC_NULL, MPI.PROC_NULL))
        self.assertEqual(cart.Shift(1, -1), (5, 3))
        self.assertErrorClass(MPI.ERR_DIMS, cart.Shift, 2, 1)

    def test_ranks_outside_the_grid_get_comm_null(self):
        comm, cart = self.cart([2, 2], None, me_at=4)
        self.assertEqual(cart, MPI.COMM_NULL)
        _, cart = self.cart([2, 2], None, me_at=3)
        self.assertEqual((cart.rank, cart.size, cart.periods), (3, 4, [0, 0]))

    def test_bad_grids(self):
        comm, _ = self.cart([1], None)
        self.assertErrorClass(MPI.ERR_ARG, comm.Create_cart, [7])          # > size
        self.assertErrorClass(MPI.ERR_DIMS, comm.Create_cart, [0, 2])
        with self.assertRaisesRegex(ValueError, 'expecting 2 items, got 1'):
            comm.Create_cart([2, 3], [True])        # as mpi4py: a list of the wrong length
        self.assertErrorClass(MPI.ERR_COMM, MPI.COMM_NULL.Create_cart, [1])

    def test_dup_keeps_the_topology_a_split_does_not(self):
        _, cart = self.cart([3, 2], [False, True])
        dup = cart.Dup()
        self.assertIsInstance(dup, MPI.Cartcomm)
        self.assertEqual((dup.dims, dup.periods, dup.coords), ([3, 2], [0, 1], [2, 0]))
        self.assertNotEqual(dup, cart)
        self.assertEqual(dup.Get_topology(), MPI.CART)
        self.assertEqual(MPI.COMM_WORLD.Get_topology(), MPI.UNDEFINED)

    def test_one_period_for_every_dimension(self):
        _, cart = self.cart([2, 3], True)
        self.assertEqual(cart.periods, [1, 1])

    def test_neighbours_are_per_dimension_minus_then_plus(self):
        _, cart = self.cart([2, 3], [True, False])      # I am (1, 1)
        self.assertTrue(cart.is_topo)
        self.assertEqual(cart.inoutedges, ([1, 1, 3, 5], [1, 1, 3, 5]))
        self.assertEqual((cart.indegree, cart.outdegree, cart.degrees), (4, 4, (4, 4)))
        _, edge = self.cart([2, 3], [True, False], me_at=3)     # (1, 0): no -1 in dim 1
        self.assertEqual(edge.inedges, [0, 0, MPI.PROC_NULL, 4])
        self.assertFalse(MPI.COMM_WORLD.is_topo)

    def test_map_keeps_ranks_inside_the_grid(self):
        _, cart = self.cart([2, 3], None)
        self.assertEqual(cart.Map([2, 2]), MPI.UNDEFINED)
        self.assertEqual(cart.Map([5]), 4)


class TestSub(CartCase):

    def test_sub_keeps_the_remaining_dimensions(self):
        _, cart = self.cart([2, 3], [True, False])      # I am (1, 1), rank 4
        queued_frames(self)                             # the cart's registration
        # Sub is a Split with color = the dropped coordinates, key = the cart rank: the
        # agent hands every member's (color, key)
        everyone = pickled(*[(r // 3, r) for r in range(6)])
        t = self.serve(2, lambda frames: coll_reply(frames, everyone))
        row = cart.Sub([False, True])
        t.join()
        self.assertEqual(self.seen[0][0]['coll'], 'allgather')
        self.assertIsInstance(row, MPI.Cartcomm)
        self.assertEqual((row.rank, row.size, row.dims, row.periods), (1, 3, [3], [0]))
        (hdr, _), = queued_frames(self)
        self.assertEqual(hdr['group'], [13, 0, 15])     # cart ranks 3, 4, 5


if __name__ == '__main__':
    unittest.main()
