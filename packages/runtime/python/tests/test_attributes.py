"""Attribute caching: a keyval's copy callback decides what a Dup keeps, its delete callback
runs when the attribute is deleted, replaced or its object freed; a callback's exception is
printed and fails the call with ERR_OTHER (as mpi4py 3.1.4 and 4.1.2 over Open MPI)."""
import contextlib
import io
import unittest

from mpi4py import MPI


class AttributeCases:
    """Run against a fresh object of one kind (communicator or datatype): self.make()."""

    def setUp(self):
        self.obj = self.make()
        self.cls = type(self.obj)
        self.keyval = MPI.KEYVAL_INVALID

    def tearDown(self):
        if self.obj:
            self.obj.Free()

    def test_copy_callback_decides_what_a_dup_keeps(self):
        value = [1, 2, 3]
        for copy_fn, expected in ((None, None), (False, None), (True, value),
                                  (lambda o, k, v: NotImplemented, None),
                                  (lambda o, k, v: ('copy', v), ('copy', value))):
            with self.subTest(copy_fn=copy_fn):
                keyval = self.cls.Create_keyval(copy_fn, None)
                self.obj.Set_attr(keyval, value)
                dup = self.obj.Dup()
                self.assertEqual(dup.Get_attr(keyval), expected)
                self.assertIs(self.obj.Get_attr(keyval), value)
                dup.Free()
                self.obj.Delete_attr(keyval)
                self.assertIsNone(self.obj.Get_attr(keyval))
                self.assertEqual(self.cls.Free_keyval(keyval), MPI.KEYVAL_INVALID)

    def test_delete_callback_on_delete_replace_and_free(self):
        deleted = []
        keyval = self.cls.Create_keyval(True, lambda o, k, v: deleted.append(v))
        self.obj.Set_attr(keyval, 'first')
        self.obj.Set_attr(keyval, 'second')         # replaces: the first is deleted
        self.assertEqual(deleted, ['first'])
        self.obj.Delete_attr(keyval)
        self.assertEqual(deleted, ['first', 'second'])
        self.obj.Delete_attr(keyval)                # nothing left: no call
        dup = self.obj.Dup()
        dup.Set_attr(keyval, 'third')
        dup.Free()
        self.assertEqual(deleted, ['first', 'second', 'third'])

    def test_callback_exception_is_err_other(self):
        def fail(o, k, v):
            raise ValueError('from the callback')
        keyval = self.cls.Create_keyval(fail, fail)
        self.obj.Set_attr(keyval, 'value')
        for call in (self.obj.Dup, lambda: self.obj.Delete_attr(keyval)):
            stderr = io.StringIO()
            with contextlib.redirect_stderr(stderr), self.assertRaises(MPI.Exception) as caught:
                call()
            self.assertEqual(caught.exception.Get_error_class(), MPI.ERR_OTHER)
            self.assertIn('ValueError: from the callback', stderr.getvalue())


    def test_failing_delete_callback_keeps_a_replacing_value_and_still_frees(self):
        def fail(o, k, v):
            raise ValueError('no')
        keyval = self.cls.Create_keyval(None, fail)
        self.obj.Set_attr(keyval, 'old')
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(MPI.Exception):
            self.obj.Set_attr(keyval, 'new')
        self.assertEqual(self.obj.Get_attr(keyval), 'new')
        other = self.cls.Create_keyval(None, lambda o, k, v: calls.append(v))
        calls = []
        dup = self.obj.Dup()
        dup.Set_attr(keyval, 'x')
        dup.Set_attr(other, 'y')
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(MPI.Exception):
            dup.Free()
        self.assertEqual(calls, ['y'])      # every callback ran
        self.assertFalse(dup)               # and the handle is null
        self.obj.Delete_attr(other)
        with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(MPI.Exception):
            self.obj.Delete_attr(keyval)

    def test_boolean_delete_callback_is_none(self):
        for delete_fn in (True, False):
            keyval = self.cls.Create_keyval(None, delete_fn)
            self.obj.Set_attr(keyval, 1)
            self.obj.Delete_attr(keyval)
            self.assertIsNone(self.obj.Get_attr(keyval))


class TestDatatypeAttributes(AttributeCases, unittest.TestCase):

    def make(self):
        return MPI.INT.Create_contiguous(2)


class TestCommAttributes(AttributeCases, unittest.TestCase):

    def make(self):
        return MPI.COMM_SELF.Dup()

    def test_only_the_dup_family_copies(self):
        keyval = MPI.Comm.Create_keyval(True, None)
        self.obj.Set_attr(keyval, 'kept')
        for made in (self.obj.Create(self.obj.Get_group()),):   # (Split needs an agent)
            self.assertIsNone(made.Get_attr(keyval))
            made.Free()
        for made in (self.obj.Dup(), self.obj.Idup()[0], self.obj.Dup_with_info(MPI.INFO_NULL)):
            self.assertEqual(made.Get_attr(keyval), 'kept')
            made.Free()


class TestHandleCopies(unittest.TestCase):

    def test_copies_of_a_handle_share_its_attributes(self):
        keyval = MPI.Datatype.Create_keyval()
        copy = MPI.Datatype(MPI.FLOAT)
        MPI.FLOAT.Set_attr(keyval, 1)
        self.assertEqual(copy.Get_attr(keyval), 1)
        MPI.FLOAT.Delete_attr(keyval)


if __name__ == '__main__':
    unittest.main()
