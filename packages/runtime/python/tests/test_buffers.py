"""Buffer specifications: parsing, counts, displacements, no casting."""
import array
import unittest

from mpi4py import MPI
from mpi4py._buffers import message, message_vector, message_w, message_w_slots, getbuffer

try:
    import numpy as np
except ImportError:     # pragma: no cover
    np = None


class TestMessage(unittest.TestCase):

    def test_bare_buffers(self):
        mv, count, dt = message(bytearray(8), False)
        self.assertEqual((len(mv), count, dt), (8, 8, MPI.UNSIGNED_CHAR))
        mv, count, dt = message(array.array('i', [1, 2, 3]), True)
        self.assertEqual((len(mv), count, dt), (12, 3, MPI.INT))
        mv, count, dt = message(array.array('d', [1.0]), True)
        self.assertEqual((count, dt), (1, MPI.DOUBLE))
        mv, count, dt = message(b'abc', True)
        self.assertEqual((count, mv.tobytes()), (3, b'abc'))

    @unittest.skipIf(np is None, 'numpy')
    def test_numpy_types(self):
        for code, dt in [('i', MPI.INT), ('l', MPI.LONG), ('f', MPI.FLOAT), ('d', MPI.DOUBLE),
                         ('F', MPI.C_FLOAT_COMPLEX), ('D', MPI.C_DOUBLE_COMPLEX),
                         ('?', MPI.C_BOOL), ('b', MPI.SIGNED_CHAR), ('h', MPI.SHORT)]:
            mv, count, got = message(np.zeros(5, dtype=code), False)
            self.assertEqual((count, got), (5, dt), code)
        mv, count, dt = message(np.zeros((3, 4)), False)
        self.assertEqual((count, len(mv)), (12, 96))
        mv, count, dt = message(np.zeros((3, 4), order='F'), False)
        self.assertEqual(count, 12)

    @unittest.skipIf(np is None, 'numpy')
    def test_type_given_no_cast(self):
        a = np.arange(4, dtype='int64')
        mv, count, dt = message([a, MPI.INT], True)
        # 8 bytes/elem moved untouched: twice as many INTs
        self.assertEqual((count, dt, mv.tobytes()), (8, MPI.INT, a.tobytes()))
        mv, count, dt = message([a, 'i'], True)
        self.assertEqual((count, dt), (8, MPI.INT))

    def test_count_and_displacement(self):
        buf = bytearray(range(16))
        mv, count, dt = message([buf, 2, MPI.INT], True)
        self.assertEqual((count, mv.tobytes()), (2, bytes(range(8))))
        mv, count, dt = message([buf, (2, 1), MPI.INT], True)
        self.assertEqual(mv.tobytes(), bytes(range(4, 12)))
        mv, count, dt = message([buf, 1, 2, MPI.INT], True)
        self.assertEqual(mv.tobytes(), bytes(range(8, 12)))
        with self.assertRaises(ValueError):
            message([buf, 5, MPI.INT], True)

    def test_count_without_type(self):
        # [A, n] is a count, [A, (n, d)] a count and displacement (mpi4py's two-item
        # spec): the type comes from the buffer; regression: [A, n] raised KeyError
        ints = array.array('i', range(4))
        mv, count, dt = message([ints, 2], True)
        self.assertEqual((count, dt, mv.tobytes()), (2, MPI.INT, ints[:2].tobytes()))
        mv, count, dt = message([ints, (2, 1)], True)
        self.assertEqual((count, mv.tobytes()), (2, ints[1:3].tobytes()))
        mv, count, dt = message([ints, [1, 3]], True)
        self.assertEqual((count, mv.tobytes()), (1, ints[3:].tobytes()))
        mv, count, dt = message([ints, None], True)
        self.assertEqual((count, dt), (4, MPI.INT))

    def test_no_buffer(self):
        # regression: [None, 0, T] (mpi4py's zero-byte message) raised TypeError
        mv, count, dt = message([None, 0, 'B'], True)
        self.assertEqual((len(mv), count, dt), (0, 0, MPI.UNSIGNED_CHAR))
        mv, count, dt = message([MPI.BOTTOM, 0, MPI.INT], False)
        self.assertEqual((len(mv), mv.readonly, dt), (0, False, MPI.INT))
        with self.assertRaisesRegex(ValueError, 'message: buffer is None but count is 2'):
            message([None, 2, MPI.INT], True)
        with self.assertRaises(KeyError):       # the datatype is required, as in mpi4py
            message([None, 0, None], True)

    def test_blocks(self):
        mv, count, dt = message([bytearray(24), MPI.INT], False, 3)
        self.assertEqual((count, len(mv)), (2, 24))
        with self.assertRaisesRegex(ValueError, 'not a multiple of required number of blocks'):
            message([bytearray(20), MPI.INT], False, 3)

    def test_errors_like_mpi4py(self):
        with self.assertRaisesRegex(ValueError, 'message: expecting 2 to 4 items'):
            message((b'ab', 1, 2, 3, 4), True)
        with self.assertRaisesRegex(TypeError, 'message: expecting buffer or list/tuple'):
            message(1, True)
        with self.assertRaises(KeyError):
            message([bytearray(8), MPI.INT, 7], True)
        with self.assertRaisesRegex(ValueError, r'buffer length 7 is not a multiple of '
                                    r'datatype extent 4 \(lb:0, ub:4\)'):
            message([bytearray(7), MPI.INT], True)
        with self.assertRaisesRegex(BufferError, 'Object is not writable.'):
            message(b'xx', False)

    def test_getbuffer_is_a_view(self):
        buf = bytearray(4)
        mv, fmt = getbuffer(buf, False)
        mv[0] = 7
        self.assertEqual(buf[0], 7)


class TestMessageVector(unittest.TestCase):

    def test_counts_displs(self):
        buf = bytearray(40)
        mv, counts, displs, dt = message_vector([buf, ([1, 2, 3], [0, 2, 5]), MPI.INT], False, 3)
        self.assertEqual((counts, displs, dt), ([1, 2, 3], [0, 2, 5], MPI.INT))
        mv, counts, displs, dt = message_vector([buf, [1, 2, 3], [0, 2, 5], MPI.INT], False, 3)
        self.assertEqual((counts, displs), ([1, 2, 3], [0, 2, 5]))

    def test_packed_displs(self):
        mv, counts, displs, dt = message_vector([bytearray(24), [1, 2, 3], MPI.INT], True, 3)
        self.assertEqual(displs, [0, 1, 3])
        mv, counts, displs, dt = message_vector([bytearray(24), ([1, 2, 3], None), MPI.INT],
                                                True, 3)
        self.assertEqual(displs, [0, 1, 3])

    def test_inferred_and_scalar(self):
        mv, counts, displs, dt = message_vector([bytearray(24), MPI.INT], True, 3)
        self.assertEqual((counts, displs), ([2, 2, 2], [0, 2, 4]))
        mv, counts, displs, dt = message_vector([bytearray(24), 1, MPI.INT], True, 3)
        self.assertEqual((counts, displs), ([1, 1, 1], [0, 1, 2]))

    def test_count_without_type(self):
        # regression: [A, n] / [A, (n, stride)] in Gatherv & co. raised KeyError
        ints = array.array('i', range(6))
        mv, counts, displs, dt = message_vector([ints, 2], True, 3)
        self.assertEqual((counts, displs, dt), ([2, 2, 2], [0, 2, 4], MPI.INT))
        mv, counts, displs, dt = message_vector([ints, [1, 2, 3]], True, 3)
        self.assertEqual((counts, displs), ([1, 2, 3], [0, 1, 3]))

    def test_integral_displacement_is_a_stride(self):
        # mpi4py: (count, d) with an integer d puts block i at i*d, not every block at d
        mv, counts, displs, dt = message_vector([bytearray(36), (1, 3), MPI.INT], True, 3)
        self.assertEqual((counts, displs), ([1, 1, 1], [0, 3, 6]))
        mv, counts, displs, dt = message_vector([bytearray(36), [1, 2, 0], 4, MPI.INT],
                                                True, 3)
        self.assertEqual(displs, [0, 4, 8])

    @unittest.skipIf(np is None, 'numpy')
    def test_numpy_counts(self):
        mv, counts, displs, dt = message_vector(
            [bytearray(24), (np.array([1, 2, 3]), np.array([0, 1, 3])), MPI.INT], True, 3)
        self.assertEqual((counts, displs), ([1, 2, 3], [0, 1, 3]))
        mv, counts, displs, dt = message_vector([bytearray(24), np.int64(2), MPI.INT], True, 3)
        self.assertEqual(counts, [2, 2, 2])

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, 'expecting 3 items, got 2'):
            message_vector([bytearray(24), [1, 2], MPI.INT], True, 3)
        with self.assertRaises(ValueError):
            message_vector([bytearray(8), [1, 2], MPI.INT], True, 2)

    def test_alltoallw(self):
        mv, displs, lens, types = message_w(
            [bytearray(24), ([1, 2], [0, 8]), [MPI.INT, MPI.DOUBLE]], True, 2)
        self.assertEqual((displs, lens), ([0, 8], [4, 16]))


class TestEmptyVector(unittest.TestCase):

    def test_none_buffer_with_zero_counts(self):
        mv, counts, displs, dt = message_vector([None, (0, None), MPI.INT], False, 3)
        self.assertEqual((len(mv), counts, dt), (0, [0, 0, 0], MPI.INT))
        with self.assertRaises(ValueError):
            message_vector([None, ([1, 0, 0], None), MPI.INT], False, 3)



class TestMessageSpecRules(unittest.TestCase):
    """mpi4py's rules for [buf, (count, displ), type] and Alltoallw's specs (as 3.1.4 and
    4.1.2 read them): a count left out is what the displacement leaves; what cannot be
    measured is a ValueError, never a division by zero."""

    def test_count_left_out_is_what_the_displacement_leaves(self):
        buf = array.array('i', range(5))
        mv, count, dt = message([buf, (None, 2)], True)
        self.assertEqual((count, dt, bytes(mv)), (3, MPI.INT, array.array('i', [2, 3, 4]).tobytes()))
        mv, count, _ = message([buf, (None, 5)], True)
        self.assertEqual((count, len(mv)), (0, 0))

    def test_displacement_past_the_end(self):
        with self.assertRaisesRegex(ValueError, 'displacement 6 out of bounds, number of datatype entries 5'):
            message([array.array('i', range(5)), (0, 6)], True)

    def test_a_type_that_measures_nothing(self):
        buf = bytearray(8)
        for spec in ([buf, None, 0, MPI.DATATYPE_NULL], [buf, 0, 1, MPI.DATATYPE_NULL]):
            with self.subTest(spec=spec), self.assertRaisesRegex(ValueError, 'datatype is null'):
                message(spec, True)
        negative = MPI.INT.Create_resized(0, -4).Commit()
        for spec in ([buf, None, negative], [buf, 0, 1, negative]):
            with self.subTest(spec=spec), self.assertRaisesRegex(ValueError, r'datatype extent -4 \(lb:0, ub:-4\)'):
                message(spec, True)
        negative.Free()

    def test_alltoallw_without_counts_sends_one_element_each(self):
        buf = bytearray(b'abc')
        for spec in ([buf, [MPI.CHAR] * 3], [buf, None, None, [MPI.CHAR] * 3]):
            _, displs, lens, types = message_w(spec, True, 3)
            self.assertEqual((displs, lens, types), ([0, 0, 0], [1, 1, 1], [MPI.CHAR] * 3))

    def test_alltoallw_bad_specs(self):
        buf = bytearray(4)
        with self.assertRaisesRegex(ValueError, 'expecting 2 to 4 items'):
            message_w([buf, [0], [0], [MPI.BYTE], None], True, 1)
        with self.assertRaisesRegex(ValueError, 'expecting 2 items, got 1'):
            message_w([buf, [1], [0], [MPI.BYTE]], True, 2)
        with self.assertRaisesRegex(ValueError, 'BOTTOM requires counts'):
            message_w([MPI.BOTTOM, [MPI.BYTE]], True, 1)
        with self.assertRaisesRegex(ValueError, 'BOTTOM requires displs'):
            message_w([MPI.BOTTOM, [1], None, [MPI.BYTE]], True, 1)
        with self.assertRaisesRegex(ValueError, 'expecting 2 items, got 1'):
            message_w([buf, ([1, 1], [0, 1]), [MPI.BYTE]], True, 2)
        for spec in ([None, [MPI.INT] * 2], [None, (None, None), [MPI.INT] * 2]):
            with self.subTest(spec=spec), self.assertRaisesRegex(ValueError, 'buffer is None but count is 1'):
                message_w_slots(spec, True, 2)
        self.assertEqual(message_w_slots([None, [0, 0], [0, 0], [MPI.INT] * 2], True, 2), [b'', b''])


if __name__ == '__main__':
    unittest.main()
