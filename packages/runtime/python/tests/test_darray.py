"""Create_darray: the elements a process owns, as Open MPI 4.1 lays them out (expected
values taken from Open MPI: the ints of arange(N) a process packs with the type)."""
import array
import unittest

from mpi4py import MPI
from mpi4py import _buffers

BLOCK, CYCLIC, NONE, DFLT = (MPI.DISTRIBUTE_BLOCK, MPI.DISTRIBUTE_CYCLIC,
                             MPI.DISTRIBUTE_NONE, MPI.DISTRIBUTE_DFLT_DARG)
CASES = [
    # size, rank, gsizes, distribs, dargs, psizes, order -> extent, size, packed elements
    ((4, 1, [5], [CYCLIC], [2], [4], MPI.ORDER_C), 20, 8, [2, 3]),
    ((4, 3, [5, 5], [CYCLIC] * 2, [DFLT] * 2, [2, 2], MPI.ORDER_C), 100, 16, [6, 8, 16, 18]),
    ((6, 1, [7, 7], [BLOCK] * 2, [DFLT] * 2, [3, 2], MPI.ORDER_F), 196, 36,
     [28, 29, 30, 35, 36, 37, 42, 43, 44]),
    ((6, 4, [5, 7, 3], [BLOCK, CYCLIC, NONE], [DFLT, 2, DFLT], [2, 3, 1], MPI.ORDER_C),
     420, 48, [69, 70, 71, 72, 73, 74, 90, 91, 92, 93, 94, 95]),
]


class TestDarray(unittest.TestCase):

    def test_layout_as_open_mpi(self):
        for args, extent, size, elements in CASES:
            with self.subTest(args=args):
                dt = MPI.INT.Create_darray(*args).Commit()
                self.assertEqual(dt.Get_extent(), (0, extent))
                self.assertEqual(dt.Get_size(), size)
                n = extent // 4
                mv = _buffers.message([array.array('i', range(n)), 1, dt], True)[0]
                self.assertEqual(list(array.array('i', bytes(mv))), elements)

    def test_contents_and_decode(self):
        args = CASES[3][0]
        dt = MPI.INT.Create_darray(*args)
        self.assertEqual(dt.combiner, MPI.COMBINER_DARRAY)
        ints, addrs, types = dt.Get_contents()
        self.assertEqual(ints, [6, 4, 3, 5, 7, 3, BLOCK, CYCLIC, NONE, DFLT, 2, DFLT,
                                2, 3, 1, MPI.ORDER_C])
        self.assertEqual((addrs, types), ([], [MPI.INT]))
        old, name, kw = dt.decode()
        self.assertEqual(name, 'DARRAY')
        again = old.Create_darray(**kw)
        self.assertEqual(again.decode()[2], kw)

    def test_an_empty_piece_and_bad_grids(self):
        dt = MPI.INT.Create_darray(4, 3, [2], [BLOCK], [DFLT], [4]).Commit()
        self.assertEqual((dt.Get_size(), dt.Get_extent()), (0, (0, 8)))
        self.assertEqual(len(_buffers.message([bytearray(8), 1, dt], True)[0]), 0)
        with self.assertRaises(MPI.Exception):
            MPI.INT.Create_darray(4, 0, [4], [BLOCK], [DFLT], [3])       # 3 != 4 procs
        with self.assertRaises(MPI.Exception):
            MPI.INT.Create_darray(2, 0, [4], [NONE], [DFLT], [2])        # NONE over 2


if __name__ == '__main__':
    unittest.main()
