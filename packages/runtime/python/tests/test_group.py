"""MPI.Group (mpi4py/_group.py): ordered sets of COMM_WORLD ranks, as MPI defines their
constructors, comparisons and rank translation."""
import unittest

from mpi4py import MPI


def group(*world_ranks, me=0):
    return MPI.Group(_ranks=world_ranks, _me=me)


_WORLD = group(*range(100))      # its rank i is world rank i


def members(g):
    """The world ranks of g's members, in g's order."""
    return g.Translate_ranks(range(g.size), _WORLD)


class TestMembers(unittest.TestCase):

    def test_rank_is_my_place_or_undefined(self):
        self.assertEqual((group(4, 0, 9).size, group(4, 0, 9).rank), (3, 1))
        self.assertEqual(group(4, 9).rank, MPI.UNDEFINED)
        self.assertEqual((MPI.GROUP_EMPTY.size, MPI.GROUP_EMPTY.rank), (0, MPI.UNDEFINED))

    def test_incl_keeps_the_given_order_excl_the_group_order(self):
        g = group(14, 11, 13, 10, 12)
        self.assertEqual(members(g.Incl([3, 0])), [10, 14])
        self.assertEqual(members(g.Excl([3, 0])), [11, 13, 12])
        self.assertEqual(g.Incl([]).size, 0)

    def test_ranges_include_their_last_rank_and_may_go_down(self):
        g = group(*range(10, 20))
        self.assertEqual(members(g.Range_incl([(0, 4, 2), (9, 7, -1)])),
                         [10, 12, 14, 19, 18, 17])
        self.assertEqual(members(g.Range_excl([(1, 9, 2)])), [10, 12, 14, 16, 18])

    def test_out_of_range_ranks_are_err_rank(self):
        g = group(10, 11)
        for call in (lambda: g.Incl([2]), lambda: g.Incl([-1]), lambda: g.Excl([5]),
                     lambda: g.Translate_ranks([2], g)):
            with self.assertRaises(MPI.Exception) as cm:
                call()
            self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_RANK)


class TestTranslate(unittest.TestCase):

    def test_into_another_group_both_call_forms(self):
        g1, g2 = group(10, 11, 12), group(12, 10)
        self.assertEqual(g1.Translate_ranks([0, 1, 2], g2), [1, MPI.UNDEFINED, 0])
        self.assertEqual(MPI.Group.Translate_ranks(g1, [2], g2), [0])
        self.assertEqual(g1.Translate_ranks([2, 0], group=g2), [0, 1])

    def test_proc_null_stays_proc_null(self):
        g = group(10, 11)
        self.assertEqual(g.Translate_ranks([MPI.PROC_NULL, 1], g), [MPI.PROC_NULL, 1])


class TestCompareAndSetOps(unittest.TestCase):

    def test_compare(self):
        g = group(1, 2, 3)
        self.assertEqual(g.Compare(group(1, 2, 3)), MPI.IDENT)
        self.assertEqual(MPI.Group.Compare(g, group(3, 1, 2)), MPI.SIMILAR)
        self.assertEqual(g.Compare(group(1, 2)), MPI.UNEQUAL)

    def test_union_intersection_difference_keep_the_first_groups_order(self):
        a, b = group(5, 1, 3), group(3, 7, 5)
        self.assertEqual(members(a.Union(b)), [5, 1, 3, 7])
        self.assertEqual(members(MPI.Group.Union(b, a)), [3, 7, 5, 1])
        self.assertEqual(members(a.Intersection(b)), [5, 3])
        self.assertEqual(members(a.Difference(b)), [1])
        self.assertEqual(b.Difference(b).size, 0)

    def test_results_know_who_i_am(self):
        a = group(5, 0, 3, me=0)
        self.assertEqual(a.Intersection(group(0, 3)).rank, 0)
        self.assertEqual(a.Difference(group(0)).rank, MPI.UNDEFINED)


class TestHandles(unittest.TestCase):

    def test_equality_is_by_members_in_order(self):
        self.assertEqual(group(1, 2), group(1, 2))
        self.assertNotEqual(group(1, 2), group(2, 1))
        self.assertEqual(len({group(1, 2), group(1, 2).Dup()}), 1)

    def test_free_makes_it_null(self):
        g = group(1, 2)
        g.Free()
        self.assertFalse(g)
        self.assertEqual(g, MPI.GROUP_NULL)
        with self.assertRaises(MPI.Exception) as cm:
            g.Get_size()
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_GROUP)

    def test_a_copy_is_the_same_group(self):
        g = group(4, 0)
        copy = MPI.Group(g)
        self.assertEqual((copy, copy.rank), (g, 1))

    def test_communicator_group(self):
        g = MPI.COMM_WORLD.Get_group()
        self.assertEqual((g.size, g.rank), (MPI.COMM_WORLD.size, MPI.COMM_WORLD.rank))
        self.assertEqual(MPI.COMM_SELF.group.Translate_ranks([0], MPI.COMM_WORLD.group),
                         [MPI.COMM_WORLD.rank])


if __name__ == '__main__':
    unittest.main()
