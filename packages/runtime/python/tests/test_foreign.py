"""Buffers given as DLPack objects or with __cuda_array_interface__ (host memory)."""
import array
import unittest

from mpi4py import MPI
from mpi4py._buffers import message, getbuffer

try:
    import numpy as np
except ImportError:     # pragma: no cover
    np = None


class DLPackOnly:
    """Exports a numpy array through DLPack only (as a torch CPU tensor does)."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


class FakeGPU:
    """Host memory described by __cuda_array_interface__ (mpi4py's tests do this)."""

    def __init__(self, arr, readonly=False, strides=None, mask=None):
        self.arr = arr      # array.array keeps the memory
        address, n = arr.buffer_info()
        self.__cuda_array_interface__ = {
            'version': 0, 'data': (address, readonly),
            'typestr': '<%s%d' % ({'i': 'i', 'd': 'f', 'B': 'u'}[arr.typecode], arr.itemsize),
            'shape': (n,), 'strides': strides, 'mask': mask}


@unittest.skipIf(np is None or not hasattr(np.ndarray, '__dlpack__'), 'numpy with DLPack')
class TestDLPack(unittest.TestCase):

    def test_types_and_counts(self):
        for code, dt in [('i', MPI.INT), ('l', MPI.LONG), ('f', MPI.FLOAT),
                         ('d', MPI.DOUBLE), ('B', MPI.UNSIGNED_CHAR), ('D', MPI.C_DOUBLE_COMPLEX)]:
            mv, count, got = message(DLPackOnly(np.zeros(5, dtype=code)), False)
            self.assertEqual((count, got, len(mv)), (5, dt, 5 * np.dtype(code).itemsize), code)

    def test_view_is_the_arrays_memory(self):
        a = np.arange(4, dtype='i4')
        mv, fmt = getbuffer(DLPackOnly(a), False)
        mv[0:4] = b'\x07\x00\x00\x00'
        self.assertEqual(a[0], 7)
        self.assertEqual(fmt, 'i')

    def test_empty_and_spec_forms(self):
        mv, count, dt = message([DLPackOnly(np.zeros(0, 'd')), MPI.DOUBLE], False)
        self.assertEqual((len(mv), count), (0, 0))
        mv, count, dt = message([DLPackOnly(np.zeros(6, 'i')), 2, MPI.INT], True)
        self.assertEqual((len(mv), count), (8, 2))

    def test_not_contiguous(self):
        with self.assertRaises(BufferError):
            getbuffer(DLPackOnly(np.zeros((4, 4))[:, 1]), True)

    def test_device_memory_refused(self):
        class OnGPU(DLPackOnly):
            def __dlpack_device__(self):
                return (2, 0)
        with self.assertRaises(BufferError):
            getbuffer(OnGPU(np.zeros(2)), True)


class TestCudaArrayInterface(unittest.TestCase):

    def test_host_pointer(self):
        a = array.array('i', [1, 2, 3])
        mv, count, dt = message(FakeGPU(a), False)
        self.assertEqual((count, dt), (3, MPI.INT))
        mv[0:4] = b'\x09\x00\x00\x00'
        self.assertEqual(a[0], 9)

    def test_readonly(self):
        a = array.array('d', [1.0, 2.0])
        mv, count, dt = message(FakeGPU(a, readonly=True), True)
        self.assertEqual((count, dt), (2, MPI.DOUBLE))
        with self.assertRaises(BufferError):
            message(FakeGPU(a, readonly=True), False)

    def test_refusals(self):
        a = array.array('i', [1, 2, 3, 4])
        with self.assertRaises(BufferError):
            getbuffer(FakeGPU(a, strides=(8,)), True)
        with self.assertRaises(BufferError):
            getbuffer(FakeGPU(a, mask=object()), True)

    def test_not_a_buffer(self):
        with self.assertRaises(TypeError):
            message(object(), True)


if __name__ == '__main__':
    unittest.main()
