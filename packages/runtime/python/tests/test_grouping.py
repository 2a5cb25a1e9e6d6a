"""Upper-case Reduce/Allreduce group the ranks' parts as Open MPI 4.1 does (small messages),
so float sums are bit-identical to mpirun's; the trees below were measured with mpirun."""
import struct
import unittest

from mpi4py import MPI
from mpi4py._grouping import schedule, evaluate
from mpi4py._ops import fold_buffers


class TestSchedules(unittest.TestCase):

    def test_allreduce_is_recursive_doubling(self):
        self.assertEqual(schedule('allreduce', 4, 8), ((0, 1), (2, 3)))
        self.assertEqual(schedule('allreduce', 5, 8), (((0, 1), 2), (3, 4)))
        self.assertEqual(schedule('allreduce', 7, 8), (((0, 1), (2, 3)), ((4, 5), 6)))

    def test_reduce_is_linear_then_a_binary_tree(self):
        self.assertEqual(schedule('reduce', 3, 8), (0, (1, 2)))
        self.assertEqual(schedule('reduce', 4, 8), ((0, (1, 3)), 2))
        self.assertEqual(schedule('reduce', 6, 8), ((0, ((1, 3), 5)), (2, 4)))
        self.assertEqual(schedule('reduce', 8, 8), ((0, ((1, (3, 7)), 5)), ((2, 4), 6)))

    def test_left_fold_elsewhere(self):
        for args in (('reduce', 9, 8), ('allreduce', 4, 4096), (None, 4, 8), ('reduce', 2, 8)):
            self.assertIsNone(schedule(*args), args)

    def test_every_part_exactly_once(self):
        for n in range(3, 9):
            for kind in ('reduce', 'allreduce'):
                self.assertEqual(sorted(evaluate(schedule(kind, n, 8), lambda i: [i],
                                                 lambda a, b: a + b)), list(range(n)))


class TestFold(unittest.TestCase):

    def fold(self, values, kind):
        parts = [struct.pack('d', v) for v in values]
        out = bytearray(8)
        fold_buffers(MPI.SUM, parts, memoryview(out), MPI.DOUBLE, 1, kind)
        return struct.unpack('d', out)[0]

    def test_grouping_changes_the_last_bits(self):
        # regression: these were folded left, one ulp away from mpirun's result
        values = [1e16, 1.0, -1e16, 1.0]
        self.assertEqual(self.fold(values, None), ((1e16 + 1.0) - 1e16) + 1.0)
        self.assertEqual(self.fold(values, 'allreduce'), (1e16 + 1.0) + (-1e16 + 1.0))
        self.assertEqual(self.fold(values, 'reduce'), (1e16 + (1.0 + 1.0)) + -1e16)
        self.assertEqual(len({self.fold(values, k) for k in (None, 'allreduce', 'reduce')}), 3)


if __name__ == '__main__':
    unittest.main()
