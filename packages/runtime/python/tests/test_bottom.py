"""MPI.Get_address and messages relative to MPI.BOTTOM (datatypes holding absolute
addresses), and Alltoallw slots of derived datatypes, packed and unpacked in place."""
import array
import unittest

from mpi4py import MPI
from mpi4py import _buffers, _derived


class TestBottom(unittest.TestCase):

    def test_get_address(self):
        buf = bytearray(b'abcdef')
        addr = MPI.Get_address(buf)
        self.assertEqual(bytes(_buffers._absolute(addr + 2, 3)), b'cde')
        self.assertEqual(MPI.Get_address(MPI.BOTTOM), 0)
        ro = b'xyz'
        self.assertEqual(bytes(_buffers._absolute(MPI.Get_address(ro), 3)), b'xyz')
        a = array.array('i', [1, 2, 3])
        self.assertEqual(MPI.Get_address(a) + 4, MPI.Get_address(memoryview(a)[1:]))

    def test_w_slots_relative_to_bottom(self):
        src = array.array('i', [10, 11, 12, 13])
        dst = array.array('i', [-1] * 4)
        saddr, raddr = MPI.Get_address(src), MPI.Get_address(dst)
        stypes = [MPI.Datatype.Create_struct([2], [saddr + 8 * i], [MPI.INT]).Commit()
                  for i in range(2)]
        rtypes = [MPI.Datatype.Create_struct([2], [raddr + 8 * (1 - i)], [MPI.INT]).Commit()
                  for i in range(2)]
        sslots = _buffers.message_w_slots((MPI.BOTTOM, ([1, 1], [0, 0]), stypes), True, 2)
        self.assertEqual([bytes(s) for s in sslots],
                         [array.array('i', [10, 11]).tobytes(),
                          array.array('i', [12, 13]).tobytes()])
        rslots = _buffers.message_w_slots((MPI.BOTTOM, ([1, 1], [0, 0]), rtypes), False, 2)
        for r, s in zip(rslots, sslots):         # what the agent does: move the bytes
            r[:] = s
        _derived.take_owed()()                   # what the request does on completion
        self.assertEqual(list(dst), [12, 13, 10, 11])

    def test_w_slots_of_derived_types_in_a_buffer(self):
        vector = MPI.INT.Create_vector(2, 1, 2).Commit()
        buf = array.array('i', [1, 2, 3, 4])
        slots = _buffers.message_w_slots([buf, ([1], [4]), [vector]], True, 1)
        self.assertEqual(bytes(slots[0]), array.array('i', [2, 4]).tobytes())
        self.assertIsNone(_derived.take_owed())


    def test_simple_message_relative_to_bottom(self):
        buf = array.array('d', [1.5, 2.5, 3.5])
        struct = MPI.Datatype.Create_struct([1, 1], [MPI.Get_address(buf) + 16,
                                                     MPI.Get_address(buf)],
                                            [MPI.DOUBLE, MPI.DOUBLE]).Commit()
        mv, count, dt = _buffers.message([MPI.BOTTOM, 1, struct], True)
        self.assertEqual(bytes(mv), array.array('d', [3.5, 1.5]).tobytes())
        self.assertEqual((count, dt), (2, MPI.DOUBLE))
        with self.assertRaises(ValueError):        # address 0 is no buffer
            _buffers.message([MPI.BOTTOM, 1, MPI.INT], True)

if __name__ == '__main__':
    unittest.main()
