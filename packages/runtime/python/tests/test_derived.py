"""Derived datatypes: MPI's layout rules, and messages packed/unpacked in Python."""
import array
import unittest

from mpi4py import MPI
from mpi4py._buffers import message, message_vector
from mpi4py._derived import take_owed, drop_owed


def ints(values):
    return array.array('i', values)


class TestLayout(unittest.TestCase):
    """Sizes and bounds as Open MPI reports them (checked against mpirun)."""

    def test_indexed_block(self):
        even = MPI.INT.Create_indexed_block(1, [0, 2, 4, 6, 8])
        self.assertEqual((even.Get_size(), even.Get_extent()), (20, (0, 36)))
        odd = MPI.INT.Create_indexed_block(1, [1, 3, 5, 7, 9])
        self.assertEqual((odd.size, odd.lb, odd.ub, odd.extent), (20, 4, 40, 36))
        self.assertEqual(odd.Get_true_extent(), (4, 36))

    def test_vector_contiguous_hvector(self):
        vec = MPI.DOUBLE.Create_vector(3, 2, 4)
        self.assertEqual((vec.size, vec.Get_extent()), (48, (0, 80)))
        self.assertEqual(MPI.INT.Create_contiguous(3).Get_extent(), (0, 12))
        self.assertEqual(MPI.INT.Create_hvector(2, 1, 12).Get_extent(), (0, 16))
        nested = MPI.INT.Create_contiguous(2).Create_vector(2, 1, 2)
        self.assertEqual((nested.size, nested.Get_extent()), (16, (0, 24)))

    def test_indexed_hindexed_resized(self):
        t = MPI.INT.Create_indexed([2, 1], [3, 0])
        self.assertEqual((t.size, t.Get_extent()), (12, (0, 20)))
        h = MPI.INT.Create_hindexed([1, 1], [8, 0])
        self.assertEqual(h.Get_extent(), (0, 12))
        r = MPI.INT.Create_resized(0, 8)
        self.assertEqual((r.size, r.Get_extent()), (4, (0, 8)))

    def test_handles(self):
        t = MPI.INT.Create_vector(2, 1, 2)
        self.assertFalse(t.is_predefined)
        self.assertNotEqual(t, MPI.INT)
        self.assertIs(t.Commit(), t)
        d = t.Dup()
        self.assertNotEqual(d, t)
        self.assertEqual(d.Get_extent(), t.Get_extent())
        d.Free()
        self.assertEqual(d, MPI.DATATYPE_NULL)
        for call in (d.Get_extent, d.Get_size, MPI.INT.Free, MPI.DATATYPE_NULL.Commit):
            with self.assertRaises(MPI.Exception) as cm:
                call()
            self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_TYPE)


class TestPacking(unittest.TestCase):

    def tearDown(self):
        drop_owed()

    def test_send_packs_the_segments(self):
        odd = MPI.INT.Create_indexed_block(1, [1, 3]).Commit()
        mv, count, dt = message([ints(range(4)), 1, odd], True)
        # sent as 2 INTs: the agent only sees the packed bytes
        self.assertEqual((count, dt, mv.tobytes()), (2, MPI.INT, ints([1, 3]).tobytes()))
        self.assertIsNone(take_owed())

    def test_receive_unpacks_on_completion(self):
        vec = MPI.INT.Create_vector(2, 1, 3).Commit()
        user = ints([-1] * 5)
        mv, count, dt = message([user, 1, vec], False)
        self.assertEqual(count, 2)
        mv[:] = ints([7, 8]).tobytes()          # what the agent delivers
        self.assertEqual(list(user), [-1] * 5)  # not before the request completes
        take_owed()()
        self.assertEqual(list(user), [7, -1, -1, 8, -1])

    def test_vector_message(self):
        pair = MPI.INT.Create_contiguous(2).Commit()
        buf = ints(range(8))
        mv, counts, displs, dt = message_vector([buf, ([1, 1], [3, 0]), pair], True, 2)
        self.assertEqual((counts, displs, dt), ([2, 2], [0, 2], MPI.INT))
        self.assertEqual(mv.tobytes(), ints([6, 7, 0, 1]).tobytes())

    def test_errors(self):
        vec = MPI.INT.Create_vector(2, 1, 3)
        with self.assertRaises(MPI.Exception) as cm:     # not committed
            message([ints(range(8)), 1, vec], True)
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_TYPE)
        vec.Commit()
        with self.assertRaisesRegex(ValueError, 'too small'):
            message([ints(range(3)), 1, vec], True)
        with self.assertRaises(MPI.Exception) as cm:     # predefined op: Open MPI says no
            MPI.SUM.Reduce_local([ints(range(8)), 1, vec], [ints(range(8)), 1, vec])
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_OP)

    def test_user_op_folds_packed_elements(self):
        vec = MPI.INT.Create_vector(2, 1, 2).Commit()
        add = MPI.Op.Create(lambda a, b, t: memoryview(b).cast('i').__setitem__(
            slice(None), ints([x + y for x, y in
                               zip(memoryview(a).cast('i'), memoryview(b).cast('i'))])))
        inout = ints([1, 1, 1, 1])
        add.Reduce_local([ints([10, 20, 30, 40]), 1, vec], [inout, 1, vec])
        self.assertEqual(list(inout), [11, 1, 31, 1])


if __name__ == '__main__':
    unittest.main()
