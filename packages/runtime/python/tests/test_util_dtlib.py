"""mpi4py.util.dtlib: numpy dtype <-> MPI datatype, round trips as mpi4py's tests ask."""
import os
import unittest
from unittest import mock

from mpi4py import MPI
from mpi4py.util.dtlib import from_numpy_dtype, to_numpy_dtype
from mpi4py.util import dtlib

try:
    import numpy
except ImportError:     # dtlib needs numpy; without it there is nothing to test
    numpy = None


def round_trip(test, dtype):
    mt = from_numpy_dtype(dtype)
    test.assertEqual(to_numpy_dtype(mt), numpy.dtype(dtype))
    test.assertEqual(mt.extent, numpy.dtype(dtype).itemsize)
    return mt


@unittest.skipIf(numpy is None, 'numpy')
class TestDtlib(unittest.TestCase):

    def test_scalars(self):
        for code in '?bhilqBHILQfdgFDG':
            mt = round_trip(self, code)
            self.assertEqual(mt.decode()[0], MPI._typedict[code])
            mt.Free()
        self.assertEqual(to_numpy_dtype(MPI.INT), numpy.dtype('i'))

    def test_subarrays_and_structs(self):
        for spec, align in (('(3,4)i', False), ('i1,f8', False), ('i1,f8', True),
                            ('(3,)i2,(2,5)d', True), ('b,(2,)i', False)):
            dtype = numpy.dtype(spec, align=align)
            round_trip(self, dtype)
        mt = from_numpy_dtype(numpy.dtype('i1,f8'))        # packed: resized to 9 bytes
        self.assertEqual(mt.Get_extent(), (0, 9))

    def test_block_types_as_structs(self):
        vec = MPI.INT.Create_vector(3, 4, 6)
        hvec = MPI.INT.Create_hvector(3, 4, 6 * 4)
        dt = to_numpy_dtype(vec)
        self.assertEqual(dt, to_numpy_dtype(hvec))
        self.assertEqual(dt.itemsize, vec.extent)
        self.assertEqual([dt.fields[n][1] for n in dt.names], [0, 24, 48])
        self.assertEqual(to_numpy_dtype(from_numpy_dtype(dt)), dt)
        nested = vec.Create_vector(2, 3, 4)
        self.assertEqual(to_numpy_dtype(from_numpy_dtype(to_numpy_dtype(nested))),
                         to_numpy_dtype(nested))
        indexed = MPI.DOUBLE.Create_indexed([4] * 3, [1, 6, 12])    # lb > 0
        dt = to_numpy_dtype(indexed)
        self.assertEqual(dt.itemsize, 16 * 8)
        self.assertEqual(to_numpy_dtype(from_numpy_dtype(dt)), dt)

    def test_struct_of_structs_stays_an_aligned_struct(self):
        inner = numpy.dtype('B,i4,B', align=True)
        mt1 = from_numpy_dtype(inner)
        for n, mt in ((3, mt1.Create_contiguous(3)), (5, mt1.Create_subarray([5], [5], [0])),
                      (7, MPI.Datatype.Create_struct([7], [0], [mt1])),
                      (2, mt1.Create_resized(0, 2 * inner.itemsize))):
            dt = to_numpy_dtype(mt)
            self.assertEqual(dt.itemsize, n * inner.itemsize)
            self.assertTrue(dt.isalignedstruct)
            self.assertEqual(to_numpy_dtype(from_numpy_dtype(dt)), dt)

    def test_failures(self):
        self.assertRaises(ValueError, from_numpy_dtype, numpy.dtype('>i4'))
        self.assertRaises(ValueError, from_numpy_dtype, numpy.dtype('O'))
        self.assertRaises(ValueError, from_numpy_dtype, numpy.dtype('V'))
        self.assertRaises(ValueError, to_numpy_dtype, MPI.DATATYPE_NULL)
        self.assertRaises(ValueError, to_numpy_dtype, MPI.INT.Create_resized(0, 32))

    def test_pair_types_by_release(self):
        # 3.1.4 has no dtype for a MAXLOC/MINLOC pair; 4.x gives the aligned struct
        with mock.patch.dict(os.environ, {'MPIAAS_MPI4PY': '3.1.4'}):
            self.assertRaises(ValueError, to_numpy_dtype, MPI.INT_INT)
        with mock.patch.dict(os.environ, {'MPIAAS_MPI4PY': '4.1'}):
            self.assertEqual(to_numpy_dtype(MPI.INT_INT), numpy.dtype('i4,i4', align=True))

    def test_alignment(self):
        self.assertEqual(dtlib._get_alignment_ctypes('d'), numpy.dtype('d').alignment)
        self.assertEqual(dtlib._get_alignment_ctypes('c16'), 8)
        self.assertEqual(dtlib._get_alignment(MPI.LOGICAL), 4)


if __name__ == '__main__':
    unittest.main()
