"""The mpi4py release a job's ranks answer as (MPIAAS_MPI4PY): 3.1.4 unless asked for 4.x, and
the calls whose shape differs between them (values of mpi4py 3.1.4 and 4.1.2 over Open MPI
4.1 on x86-64)."""
import os
import subprocess
import sys
import unittest
import warnings
from unittest import mock

import mpi4py
from mpi4py import MPI, _api_release

SHIM = os.path.dirname(os.path.dirname(os.path.abspath(mpi4py.__file__)))


def release(value):
    return mock.patch.dict(os.environ, {'MPIAAS_MPI4PY': value})


class TestRelease(unittest.TestCase):

    def test_default_is_3_1_4(self):
        with mock.patch.dict(os.environ):
            os.environ.pop('MPIAAS_MPI4PY', None)
            self.assertEqual(mpi4py.__version__, '3.1.4')
            self.assertFalse(_api_release.is_4x())
            _api_release.check()

    def test_values_by_release(self):
        for value, expected in [('3', '3.1.4'), ('3.1', '3.1.4'), ('3.1.4', '3.1.4'),
                                ('4', '4.1.2'), ('4.0', '4.1.2'), ('4.1', '4.1.2'),
                                ('4.1.3', '4.1.2')]:
            with self.subTest(value=value), release(value):
                self.assertEqual(mpi4py.__version__, expected)
                _api_release.check()

    def test_unknown_value_is_refused_naming_the_variable(self):
        # the api's rule exactly (contracts' MPI4PY_RELEASE_PATTERN): no spaces, ASCII digits
        for value in ('5', '4.2', '2.0', 'latest', '4.1.x', ' 4.1 ', '3.1.\u0664'):
            with self.subTest(value=value), release(value):
                with self.assertRaisesRegex(RuntimeError, 'MPIAAS_MPI4PY=%r' % value):
                    _api_release.check()

    def test_unknown_value_fails_the_import_of_MPI(self):
        env = dict(os.environ, MPIAAS_MPI4PY='9', PYTHONPATH=SHIM)
        done = subprocess.run([sys.executable, '-c', 'from mpi4py import MPI'], env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("MPIAAS_MPI4PY='9'", done.stderr)

    def test_other_attributes_still_missing(self):
        with self.assertRaises(AttributeError):
            mpi4py.no_such_thing  # noqa: B018


class TestEnvelopeShape(unittest.TestCase):

    def test_3_1_4_has_no_large_counts(self):
        v = MPI.INT.Create_vector(2, 1, 3)
        with release('3'):
            self.assertEqual(MPI.INT.Get_envelope(), (0, 0, 0, MPI.COMBINER_NAMED))
            self.assertEqual(v.Get_envelope(), (3, 0, 1, MPI.COMBINER_VECTOR))
            self.assertEqual(v.Get_contents(), ([2, 1, 3], [], [MPI.INT]))
            self.assertEqual(v.combiner, MPI.COMBINER_VECTOR)
        v.Free()

    def test_4_x_counts_its_large_counts(self):
        h = MPI.INT.Create_hvector(2, 1, 12)
        with release('4.1'):
            self.assertEqual(MPI.INT.Get_envelope(), (0, 0, 0, 0, MPI.COMBINER_NAMED))
            self.assertEqual(h.envelope, (2, 1, 0, 1, MPI.COMBINER_HVECTOR))
            self.assertEqual(h.Get_contents(), ([2, 1], [12], [], [MPI.INT]))
            self.assertEqual(h.combiner, MPI.COMBINER_HVECTOR)
            ni, na, nc, nd, _ = h.envelope
            self.assertEqual([ni, na, nc, nd], [len(part) for part in h.contents])
        h.Free()


class TestDecode(unittest.TestCase):

    def test_named_type_gives_itself_in_3_1_4_and_a_triple_in_4_x(self):
        with release('3'):
            self.assertIs(MPI.INT.decode(), MPI.INT)
        with release('4'):
            self.assertEqual(MPI.INT.decode(), (MPI.INT, 'NAMED', {}))

    def test_struct_oldtype(self):
        two = MPI.Datatype.Create_struct([1, 1], [0, 8], [MPI.INT, MPI.DOUBLE])
        one = MPI.Datatype.Create_struct([2], [0], [MPI.INT])
        for value in ('3', '4'):
            with release(value):
                self.assertEqual(two.decode()[0], MPI.DATATYPE_NULL)
        with release('3'):
            self.assertEqual(one.decode()[0], MPI.DATATYPE_NULL)
        with release('4'):
            self.assertEqual(one.decode()[0], MPI.INT)
        two.Free()
        one.Free()

    def test_keywords_are_a_fresh_copy(self):
        t = MPI.Datatype.Create_struct([1, 1], [0, 8], [MPI.INT, MPI.DOUBLE])
        t.decode()[2].pop('datatypes')
        t.decode()[2]['blocklengths'].append(9)
        self.assertEqual(t.decode()[2]['datatypes'], [MPI.INT, MPI.DOUBLE])
        self.assertEqual(t.Get_contents()[0], [2, 1, 1])
        t.Free()

    def test_freeing_what_decode_gives_leaves_the_type_whole(self):
        inner = MPI.INT.Create_contiguous(2)
        outer = MPI.Datatype.Create_struct([1, 1], [0, 8], [inner, MPI.DOUBLE])
        inner.Free()
        for parts in (outer.decode()[2]['datatypes'], outer.Get_contents()[-1]):
            parts[0].Free()
        vector = outer.decode()[2]['datatypes'][0].Create_vector(2, 1, 1)
        vector.decode()[0].Free()
        self.assertEqual(outer.decode()[2]['datatypes'][0].size, 8)
        self.assertEqual(vector.decode()[0].size, 8)
        for t in (outer, vector):
            t.Free()

    def test_f90_type_decodes_from_no_datatype(self):
        for value in ('3', '4'):
            with release(value):
                old, combiner, params = MPI.Datatype.Create_f90_real(15, 307).decode()
            self.assertEqual((old, combiner, params), (MPI.DATATYPE_NULL, 'F90_REAL', {'p': 15, 'r': 307}))

    def test_block_lists_must_agree_in_length(self):
        with self.assertRaisesRegex(ValueError, 'expecting 2 items, got 1'):
            MPI.Datatype.Create_struct([1, 1], [0], [MPI.INT, MPI.INT])
        with self.assertRaises(ValueError):
            MPI.Datatype.Create_struct([1], [0], [MPI.INT, MPI.FLOAT])
        with self.assertRaises(ValueError):
            MPI.INT.Create_indexed([1, 1], [0])
        with self.assertRaises(ValueError):
            MPI.INT.Create_hindexed([1], [0, 8])


class TestCountPastIntMax(unittest.TestCase):
    """A contiguous type of more than 2**31 - 1 elements: mpi4py 4.x over an MPI 3.1 library
    builds a struct of a vector and a contiguous rest; 3.1.4's shim keeps one contiguous."""

    INT_MAX = 2**31 - 1

    def test_4_x_struct_of_vector_and_rest(self):
        count = self.INT_MAX * 2 + 5
        with release('4'):
            t = MPI.SHORT.Create_contiguous(count)
            old, combiner, params = t.decode()
        self.assertEqual((t.size, t.extent), (count * 2, count * 2))
        self.assertEqual((old, combiner), (MPI.DATATYPE_NULL, 'STRUCT'))
        blocks, rest = params['datatypes']
        self.assertEqual((blocks.combiner, blocks.size), (MPI.COMBINER_VECTOR, 2 * self.INT_MAX * 2))
        self.assertEqual((rest.combiner, rest.size), (MPI.COMBINER_CONTIGUOUS, 5 * 2))
        self.assertEqual(params['displacements'], [0, 2 * self.INT_MAX * 2])
        t.Free()

    def test_3_1_4_and_counts_up_to_int_max_stay_contiguous(self):
        with release('3'):
            big = MPI.BYTE.Create_contiguous(self.INT_MAX + 1)
        with release('4'):
            fits = MPI.BYTE.Create_contiguous(self.INT_MAX)
        for t in (big, fits):
            self.assertEqual(t.decode()[1], 'CONTIGUOUS')
            t.Free()


class TestLowerCaseFree(unittest.TestCase):
    """mpi4py 4.x's Datatype.free(): Free unless null or predefined (here in both releases:
    3.1.4 has no free() to contradict)."""

    def test_derived_is_freed(self):
        t = MPI.INT.Create_contiguous(2)
        t.free()
        self.assertEqual(t, MPI.DATATYPE_NULL)
        t.free()        # null: nothing to do

    def test_predefined_constant_stays_and_a_copy_becomes_null(self):
        MPI.INT.free()
        self.assertEqual(MPI.INT.Get_size(), 4)
        copy = MPI.Datatype(MPI.INT)
        copy.free()
        self.assertEqual(copy, MPI.DATATYPE_NULL)
        self.assertEqual(MPI.INT.Get_size(), 4)
        MPI.DATATYPE_NULL.free()


class TestRc(unittest.TestCase):

    def test_4_x_options_and_unknown_names(self):
        rc = type(mpi4py.rc)()
        self.assertEqual(rc.irecv_bufsz, 32768)
        rc(irecv_bufsz=1024)
        self.assertEqual(rc.irecv_bufsz, 1024)
        with self.assertRaises(TypeError):
            rc(no_such_option=1)
        with release('4'), self.assertRaises(TypeError):
            rc.no_such_option = 1
        with release('3'):
            rc.no_such_option = 1       # 3.1.4's rc took any attribute
        self.assertEqual(rc.no_such_option, 1)


class TestBufferArgument(unittest.TestCase):

    def recv_warnings(self, value):
        comm = MPI.COMM_SELF
        with release(value), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            comm.recv(bytearray(8), MPI.PROC_NULL)
            comm.sendrecv(1, MPI.PROC_NULL, recvbuf=bytearray(8), source=MPI.PROC_NULL)
            comm.recv(None, MPI.PROC_NULL)
        return caught

    def test_4_x_warns_at_the_callers_line(self):
        caught = self.recv_warnings('4')
        self.assertEqual([str(w.message) for w in caught], ["the 'buf' argument is deprecated"] * 2)
        self.assertEqual({w.category for w in caught}, {UserWarning})
        self.assertEqual({w.filename for w in caught}, {__file__})

    def test_3_1_4_does_not_warn(self):
        self.assertEqual(self.recv_warnings('3'), [])

    def test_upper_case_sendrecv_never_warns(self):
        # its recvbuf is the message's buffer, not the deprecated argument of the pickled recv
        import array
        with release('4'), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            MPI.COMM_SELF.Sendrecv(array.array('i', [1]), MPI.PROC_NULL,
                                   recvbuf=array.array('i', [0]), source=MPI.PROC_NULL)
        self.assertEqual(caught, [])


class TestPairTypes(unittest.TestCase):
    """MAXLOC/MINLOC pairs laid out as C lays out struct {value v; int i;} (Open MPI's)."""

    def test_true_extent_ends_with_the_index(self):
        expected = {'MPI_SHORT_INT': (6, 8, 8), 'MPI_2INT': (8, 8, 8), 'MPI_LONG_INT': (12, 16, 12),
                    'MPI_FLOAT_INT': (8, 8, 8), 'MPI_DOUBLE_INT': (12, 16, 12),
                    'MPI_LONG_DOUBLE_INT': (20, 32, 20)}
        for t in (MPI.SHORT_INT, MPI.INT_INT, MPI.LONG_INT, MPI.FLOAT_INT, MPI.DOUBLE_INT,
                  MPI.LONG_DOUBLE_INT):
            with self.subTest(t.Get_name()):
                self.assertEqual((t.size, t.extent, t.true_extent), expected[t.Get_name()])

    def test_alignment_and_numpy_dtype(self):
        import numpy
        from mpi4py.util import dtlib
        for t, value in ((MPI.SHORT_INT, 'i2'), (MPI.INT_INT, 'i4'), (MPI.LONG_INT, 'i8'),
                         (MPI.FLOAT_INT, 'f4'), (MPI.DOUBLE_INT, 'f8'),
                         (MPI.LONG_DOUBLE_INT, 'g')):
            with self.subTest(t.Get_name()), release('4'):
                dt = dtlib.to_numpy_dtype(t)
                self.assertEqual(dt, numpy.dtype('%s,i4' % value, align=True))
                self.assertTrue(dt.isalignedstruct)
                self.assertEqual(dt.itemsize, t.extent)
                self.assertEqual(MPI._typealign(t), dt.alignment)

    def test_minloc_reads_the_index_where_c_puts_it(self):
        import numpy
        layout = numpy.dtype([('v', 'i2'), ('i', 'i4')], align=True)
        data = numpy.zeros(2, dtype=layout)
        data['v'], data['i'] = [7, 7], [-5, 3]
        # equal values: the smaller index wins, read from the bytes at offset 4
        MPI.MINLOC.Reduce_local([data[:1], MPI.SHORT_INT], [data[1:], MPI.SHORT_INT])
        self.assertEqual(data[1:].tolist(), [(7, -5)])
        self.assertEqual(MPI.SHORT_INT._dtype().fields['i'][1], 4)


if __name__ == '__main__':
    unittest.main()
