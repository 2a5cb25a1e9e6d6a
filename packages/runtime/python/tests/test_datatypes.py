"""Predefined datatypes: sizes/extents (LP64, as Open MPI reports) and typechars."""
import unittest

from mpi4py import MPI


class TestDatatypes(unittest.TestCase):

    def test_sizes(self):
        for dt, size, extent in [
                (MPI.CHAR, 1, 1), (MPI.SHORT, 2, 2), (MPI.INT, 4, 4), (MPI.LONG, 8, 8),
                (MPI.LONG_LONG, 8, 8), (MPI.FLOAT, 4, 4), (MPI.DOUBLE, 8, 8),
                (MPI.LONG_DOUBLE, 16, 16), (MPI.C_BOOL, 1, 1), (MPI.BYTE, 1, 1),
                (MPI.C_DOUBLE_COMPLEX, 16, 16), (MPI.DOUBLE_INT, 12, 16), (MPI.INT_INT, 8, 8),
                (MPI.SHORT_INT, 6, 8), (MPI.LONG_INT, 12, 16), (MPI.FLOAT_INT, 8, 8),
                (MPI.INT64_T, 8, 8), (MPI.UINT8_T, 1, 1), (MPI.AINT, 8, 8)]:
            self.assertEqual(dt.Get_size(), size, dt.name)
            self.assertEqual(dt.size, size)
            self.assertEqual(dt.extent, extent, dt.name)
            self.assertEqual(dt.Get_extent(), (0, extent))

    def test_names_and_aliases(self):
        self.assertEqual(MPI.INT.Get_name(), 'MPI_INT')
        self.assertEqual(MPI.LONG_LONG.name, 'MPI_LONG_LONG_INT')
        self.assertIs(MPI.SIGNED_INT, MPI.INT)
        self.assertIs(MPI.UNSIGNED_INT, MPI.UNSIGNED)
        self.assertIs(MPI.TWOINT, MPI.INT_INT)
        self.assertEqual(MPI.INT_INT.name, 'MPI_2INT')
        self.assertFalse(MPI.DATATYPE_NULL)
        self.assertNotEqual(MPI.INT, MPI.FLOAT)

    def test_typedict(self):
        self.assertIs(MPI._typedict['i'], MPI.INT)
        self.assertIs(MPI._typedict['d'], MPI.DOUBLE)
        self.assertIs(MPI._typedict['Zd'], MPI.C_DOUBLE_COMPLEX)
        self.assertEqual(MPI._typecode(MPI.INT), 'i')
        self.assertEqual(MPI._typecode(MPI.BYTE), 'B')
        self.assertEqual(MPI._typecode(MPI.CHAR), 'c')

    def test_numpy_dtype(self):
        try:
            import numpy as np
        except ImportError:     # pragma: no cover
            self.skipTest('numpy')
        self.assertEqual(MPI.INT._dtype(), np.dtype('i4'))
        self.assertEqual(MPI.DOUBLE_INT._dtype().itemsize, 16)
        self.assertEqual(MPI.SHORT_INT._dtype().itemsize, 8)

    def test_repr_module(self):
        self.assertTrue(repr(MPI.INT).startswith('<mpi4py.MPI.Datatype object'))


if __name__ == '__main__':
    unittest.main()
