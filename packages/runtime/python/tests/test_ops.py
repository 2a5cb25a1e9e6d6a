"""Reduction ops on Python objects and on buffers (numpy ufuncs)."""
import array
import unittest

from mpi4py import MPI
from mpi4py._ops import fold_objects, fold_buffers

try:
    import numpy as np
except ImportError:     # pragma: no cover
    np = None


class TestOpObjects(unittest.TestCase):

    def test_predefined_call(self):
        # values as printed by mpi4py 3.1.4 for the same calls
        self.assertEqual(MPI.SUM(1, 2), 3)
        self.assertEqual(MPI.PROD(3, 4), 12)
        self.assertEqual(MPI.MAX(3, 2), 3)
        self.assertEqual(MPI.MIN(3, 2), 2)
        self.assertEqual(MPI.MAXLOC((1, 2), (1, 0)), (1, 0))
        self.assertEqual(MPI.MINLOC((1, 2), (1, 0)), (1, 0))
        self.assertEqual(MPI.MAXLOC((2, 5), (1, 0)), (2, 5))
        self.assertEqual(MPI.REPLACE(1, 2), 2)
        self.assertEqual(MPI.NO_OP(1, 2), 1)
        self.assertIs(MPI.LAND(3, 0), False)
        self.assertIs(MPI.LOR(0, 3), True)
        self.assertIs(MPI.LXOR(1, 1), False)
        self.assertEqual(MPI.BXOR(5, 3), 6)
        self.assertEqual(MPI.BAND(6, 3), 2)
        self.assertEqual(MPI.BOR(4, 1), 5)

    def test_identity(self):
        self.assertEqual(MPI.SUM, MPI.SUM)
        self.assertNotEqual(MPI.SUM, MPI.PROD)
        self.assertNotEqual(MPI.REPLACE, MPI.OP_NULL)
        self.assertFalse(MPI.OP_NULL)
        self.assertTrue(MPI.SUM.Is_commutative())
        self.assertFalse(MPI.REPLACE.Is_commutative())
        self.assertTrue(MPI.SUM.is_predefined)

    @unittest.skipIf(np is None, 'numpy')
    def test_a_few_doubles_fold_bit_for_bit_as_through_numpy(self):
        # SUM and PROD of up to _FEW float64 per part fold with Python floats: the same
        # results, bit for bit, as the numpy path, in every grouping (values chosen so that
        # the order of the additions changes the result)
        import random
        import struct
        from mpi4py import _ops
        rng = random.Random(7)
        for nparts in (2, 3, 4, 5, 8, 16):
            for count in (1, 3, 8):
                for kind in (None, 'allreduce', ('reduce', 0), ('reduce', nparts - 1)):
                    for op in (MPI.SUM, MPI.PROD):
                        values = [rng.choice((1e16, -1e16, 1.0, 3.3, -0.0, 1e-300)) * rng.random()
                                  for _ in range(nparts * count)]
                        whole = struct.pack('=%dd' % len(values), *values)
                        fast, slow = bytearray(8 * count), bytearray(8 * count)
                        _ops.fold_buffers(op, memoryview(whole), memoryview(fast), MPI.DOUBLE, count, kind)
                        few, _ops._FEW = _ops._FEW, 0
                        try:
                            _ops.fold_buffers(op, memoryview(whole), memoryview(slow), MPI.DOUBLE, count, kind)
                        finally:
                            _ops._FEW = few
                        self.assertEqual(bytes(fast), bytes(slow), (nparts, count, kind, op))

    def test_fold_rank_order(self):
        vals = [1, 2, 3, 4]
        self.assertEqual(fold_objects(MPI.SUM, vals), 10)
        self.assertEqual(fold_objects(MPI.REPLACE, vals), 4)
        self.assertEqual(fold_objects(MPI.NO_OP, vals), 1)
        self.assertEqual(fold_objects(lambda a, b: a * 10 + b, vals), 1234)
        pairs = [(0, 0), (3, 1), (3, 2), (1, 3)]
        self.assertEqual(fold_objects(MPI.MAXLOC, pairs), (3, 1))
        self.assertEqual(fold_objects(MPI.MINLOC, pairs), (0, 0))

    def test_user_op_on_objects(self):
        calls = []
        op = MPI.Op.Create(lambda a, b, dt: calls.append(dt) or a + b, commute=True)
        self.assertEqual(op(1, 2), 3)
        self.assertEqual(calls, [None])
        self.assertTrue(op.Is_commutative())
        self.assertFalse(op.is_predefined)
        op.Free()

    @unittest.skipIf(np is None, 'numpy')
    def test_numpy_arrays_call(self):
        self.assertEqual(list(MPI.SUM(np.array([1, 2]), np.array([3, 4]))), [4, 6])


@unittest.skipIf(np is None, 'numpy')
class TestOpBuffers(unittest.TestCase):

    def fold(self, op, arrays, dt):
        out = np.zeros_like(arrays[0])
        fold_buffers(op, [memoryview(a).cast('B') for a in arrays],
                     memoryview(out).cast('B'), dt, arrays[0].size)
        return out

    def test_arith(self):
        a = [np.arange(4, dtype='i') + r for r in range(3)]
        self.assertEqual(list(self.fold(MPI.SUM, a, MPI.INT)), [3, 6, 9, 12])
        self.assertEqual(list(self.fold(MPI.PROD, a, MPI.INT)), [0, 6, 24, 60])
        self.assertEqual(list(self.fold(MPI.MAX, a, MPI.INT)), [2, 3, 4, 5])
        self.assertEqual(list(self.fold(MPI.MIN, a, MPI.INT)), [0, 1, 2, 3])
        self.assertEqual(list(self.fold(MPI.REPLACE, a, MPI.INT)), [2, 3, 4, 5])
        self.assertEqual(list(self.fold(MPI.NO_OP, a, MPI.INT)), [0, 1, 2, 3])

    def test_contiguous_parts(self):
        parts = np.stack([np.arange(3, dtype='d') * r for r in range(4)])
        out = np.zeros(3)
        fold_buffers(MPI.SUM, memoryview(parts).cast('B'), memoryview(out).cast('B'),
                     MPI.DOUBLE, 3)
        self.assertEqual(list(out), [0.0, 6.0, 12.0])

    def test_logical_bitwise(self):
        a = [np.array([0, 1, 2, 3], 'i'), np.array([1, 1, 0, 3], 'i')]
        self.assertEqual(list(self.fold(MPI.LAND, a, MPI.INT)), [0, 1, 0, 1])
        self.assertEqual(list(self.fold(MPI.LOR, a, MPI.INT)), [1, 1, 1, 1])
        self.assertEqual(list(self.fold(MPI.LXOR, a, MPI.INT)), [1, 0, 1, 0])
        self.assertEqual(list(self.fold(MPI.BAND, a, MPI.INT)), [0, 1, 0, 3])
        self.assertEqual(list(self.fold(MPI.BOR, a, MPI.INT)), [1, 1, 2, 3])
        self.assertEqual(list(self.fold(MPI.BXOR, a, MPI.INT)), [1, 0, 2, 0])

    def test_bad_op_for_type(self):
        a = [np.zeros(2), np.zeros(2)]
        with self.assertRaises(MPI.Exception) as cm:
            self.fold(MPI.BAND, a, MPI.DOUBLE)
        self.assertEqual(cm.exception.Get_error_class(), MPI.ERR_OP)

    def test_array_array(self):
        a = [array.array('d', [1.0, 2.0]), array.array('d', [3.0, 4.0])]
        out = array.array('d', [0.0, 0.0])
        fold_buffers(MPI.SUM, [memoryview(x).cast('B') for x in a],
                     memoryview(out).cast('B'), MPI.DOUBLE, 2)
        self.assertEqual(list(out), [4.0, 6.0])

    def test_maxloc_pairs(self):
        dt = np.dtype([('v', 'f8'), ('i', 'i4')], align=True)
        a = np.zeros(2, dt); b = np.zeros(2, dt); c = np.zeros(2, dt)
        a['v'], a['i'] = [1, 5], [0, 0]
        b['v'], b['i'] = [3, 5], [1, 1]
        c['v'], c['i'] = [3, 2], [2, 2]
        out = self.fold(MPI.MAXLOC, [a, b, c], MPI.DOUBLE_INT)
        self.assertEqual(list(out['v']), [3, 5])
        self.assertEqual(list(out['i']), [1, 0])    # ties: smallest index
        out = self.fold(MPI.MINLOC, [a, b, c], MPI.DOUBLE_INT)
        self.assertEqual(list(out['v']), [1, 2])
        self.assertEqual(list(out['i']), [0, 2])

    def test_user_op_buffers(self):
        def myprod(inbuf, inoutbuf, datatype):
            x = np.frombuffer(inbuf, dtype='i')
            y = np.frombuffer(inoutbuf, dtype='i')
            y[:] = x * 10 + y       # non-commutative: checks the fold order
        op = MPI.Op.Create(myprod, commute=False)
        a = [np.array([r], 'i') for r in (1, 2, 3)]
        self.assertEqual(list(self.fold(op, a, MPI.INT)), [123])

    def test_reduce_local(self):
        a = np.array([1, 2], 'i')
        b = np.array([10, 20], 'i')
        MPI.SUM.Reduce_local(a, b)
        self.assertEqual(list(b), [11, 22])

    def test_user_op_assigns_any_buffer(self):
        # mpi4py hands user ops memory objects: `inoutbuf[:] = array('i', ...)` works
        def add(a, b, dt):
            x, y = array.array('i', bytes(a)), array.array('i', bytes(b))
            b[:] = array.array('i', [i + j for i, j in zip(x, y)])
        op = MPI.Op.Create(add, commute=True)
        a = [np.array([r, 10 * r], 'i') for r in (1, 2, 3)]
        self.assertEqual(list(self.fold(op, a, MPI.INT)), [6, 60])
        b = array.array('i', [1, 1])
        op.Reduce_local(array.array('i', [2, 3]), b)
        self.assertEqual(list(b), [3, 4])

    def test_reduce_local_mismatch(self):
        a, b = np.zeros(3, 'i'), np.zeros(3, 'i')
        with self.assertRaises(ValueError):     # counts
            MPI.SUM.Reduce_local([a, 2, MPI.INT], [b, 3, MPI.INT])
        with self.assertRaises(ValueError):     # datatypes, as mpi4py checks
            MPI.SUM.Reduce_local([a, 1, MPI.INT], [b, 1, MPI.SHORT])


if __name__ == '__main__':
    unittest.main()
