"""Null and predefined handles fail as MPI says (the classes Open MPI reports)."""
import unittest

from mpi4py import MPI


class TestNullHandles(unittest.TestCase):

    def assertClass(self, errclass, fn, *args):
        with self.assertRaises(MPI.Exception) as cm:
            fn(*args)
        self.assertEqual(cm.exception.Get_error_class(), errclass)

    def test_comm_null(self):
        for name in ('Get_size', 'Get_rank', 'Is_inter', 'Is_intra', 'Get_group',
                     'Get_topology', 'Get_errhandler', 'Dup', 'Free'):
            self.assertClass(MPI.ERR_COMM, getattr(MPI.COMM_NULL, name))
        self.assertClass(MPI.ERR_COMM, MPI.Comm.Compare, MPI.COMM_NULL, MPI.COMM_SELF)
        self.assertClass(MPI.ERR_COMM, MPI.COMM_NULL.Set_errhandler, MPI.ERRORS_RETURN)

    def test_intercomm_null(self):
        comm = MPI.Intercomm()
        self.assertEqual(comm, MPI.COMM_NULL)
        self.assertIsInstance(comm, MPI.Comm)
        for name in ('Get_remote_group', 'Get_remote_size', 'Merge', 'Dup'):
            self.assertClass(MPI.ERR_COMM, getattr(comm, name))

    def test_predefined_comms_cannot_be_freed(self):
        self.assertClass(MPI.ERR_COMM, MPI.COMM_WORLD.Free)
        self.assertClass(MPI.ERR_COMM, MPI.COMM_SELF.Free)

    def test_keyval_invalid(self):
        self.assertClass(MPI.ERR_KEYVAL, MPI.COMM_WORLD.Get_attr, MPI.KEYVAL_INVALID)
        self.assertClass(MPI.ERR_KEYVAL, MPI.INT.Get_attr, MPI.KEYVAL_INVALID)

    def test_errhandlers(self):
        self.assertClass(MPI.ERR_ARG, MPI.ERRHANDLER_NULL.Free)
        self.assertClass(MPI.ERR_ARG, MPI.COMM_WORLD.Set_errhandler, MPI.ERRHANDLER_NULL)
        eh = MPI.COMM_WORLD.Get_errhandler()
        self.assertEqual(eh, MPI.ERRORS_RETURN)
        eh.Free()       # a handle of our own: freeing it is fine

    def test_group_null(self):
        self.assertClass(MPI.ERR_GROUP, MPI.GROUP_NULL.Get_size)
        self.assertClass(MPI.ERR_GROUP, MPI.GROUP_NULL.Get_rank)
        self.assertClass(MPI.ERR_GROUP, MPI.Group.Compare, MPI.GROUP_NULL, MPI.GROUP_EMPTY)

    def test_ops(self):
        self.assertClass(MPI.ERR_OP, MPI.OP_NULL.Free)
        self.assertClass(MPI.ERR_OP, MPI.SUM.Free)
        MPI.Op.Create(lambda a, b, t: None).Free()

    def test_request_null(self):
        self.assertClass(MPI.ERR_REQUEST, MPI.REQUEST_NULL.Free)
        self.assertClass(MPI.ERR_REQUEST, MPI.REQUEST_NULL.Cancel)

    def test_status_counts_in_null_type(self):
        st = MPI.Status()
        self.assertClass(MPI.ERR_TYPE, st.Get_count, MPI.DATATYPE_NULL)
        self.assertClass(MPI.ERR_TYPE, st.Get_elements, MPI.DATATYPE_NULL)
        self.assertClass(MPI.ERR_TYPE, st.Set_elements, MPI.DATATYPE_NULL, 0)

    def test_info(self):
        self.assertFalse(MPI.INFO_NULL)
        for name, args in (('Dup', ()), ('Free', ()), ('Get', ('k',)), ('Set', ('k', 'v')),
                           ('Delete', ('k',)), ('Get_nkeys', ()), ('Get_nthkey', (0,))):
            self.assertClass(MPI.ERR_INFO, getattr(MPI.INFO_NULL, name), *args)
        info = MPI.Info.Create()
        self.assertTrue(info)
        self.assertClass(MPI.ERR_INFO_NOKEY, info.Delete, 'k')
        self.assertClass(MPI.ERR_ARG, info.Get_nthkey, 0)
        info.Set('k', 'v')
        self.assertEqual((info.Get('k'), info['k'], len(info)), ('v', 'v', 1))
        info.Free()
        self.assertEqual(info, MPI.INFO_NULL)

    def test_null_fortran_kinds_as_open_mpi(self):
        for name in ('INTEGER16', 'REAL2', 'COMPLEX4', 'UB', 'LB'):
            self.assertEqual(getattr(MPI, name), MPI.DATATYPE_NULL, name)


class TestConstructors(unittest.TestCase):

    def test_status(self):
        self.assertRaises(TypeError, MPI.Status, 123)
        st = MPI.Status()
        st.source = 3
        self.assertEqual(MPI.Status(st).source, 3)

    def test_comm(self):
        self.assertRaises(TypeError, MPI.Comm, (1, 2, 3))
        self.assertEqual(MPI.Comm(), MPI.COMM_NULL)
        copy = MPI.Comm(MPI.COMM_SELF)
        self.assertEqual(copy, MPI.COMM_SELF)
        self.assertIsNot(copy, MPI.COMM_SELF)

    def test_comm_subclass_from_a_comm(self):
        # mpi4py's documented way to give a communicator methods of one's own
        class MyComm(MPI.Intracomm):
            def __new__(cls, comm, label):
                self = MPI.Intracomm.__new__(cls, comm)
                self.label = label
                return self

            def __init__(self, comm, label):
                pass
        comm = MyComm(MPI.COMM_SELF, 'mine')
        self.assertEqual((comm.label, comm.Get_size(), comm.Get_rank()), ('mine', 1, 0))
        self.assertEqual(comm, MPI.COMM_SELF)


class TestErrorClasses(unittest.TestCase):

    def test_user_classes_and_codes(self):
        errclass = MPI.Add_error_class()
        self.assertEqual(MPI.Get_error_string(errclass), '')
        MPI.Add_error_string(errclass, 'error class')
        self.assertEqual(MPI.Get_error_string(errclass), 'error class')
        code = MPI.Add_error_code(errclass)
        self.assertEqual(MPI.Get_error_string(code), '')
        self.assertEqual(MPI.Get_error_class(code), errclass)
        self.assertEqual(MPI.Exception(code).Get_error_class(), errclass)
        self.assertEqual(MPI.Get_error_class(MPI.ERR_RANK), MPI.ERR_RANK)


class TestMessages(unittest.TestCase):

    def test_no_proc_survives_a_receive(self):
        noproc = MPI.MESSAGE_NO_PROC
        self.assertIsNone(noproc.recv())
        self.assertTrue(noproc)
        copy = MPI.Message(MPI.MESSAGE_NO_PROC)
        self.assertEqual(copy, noproc)
        copy.recv()
        self.assertEqual(copy, MPI.MESSAGE_NULL)


class TestGroups(unittest.TestCase):

    def test_translate_proc_null(self):
        g = MPI.COMM_SELF.Get_group()
        self.assertEqual(MPI.Group.Translate_ranks(g, [MPI.PROC_NULL, 0], g),
                         [MPI.PROC_NULL, 0])


class TestRequestArrays(unittest.TestCase):

    def done(self, source, tag):
        from mpi4py._request import Request
        return Request()._local(source, tag, 0)

    def test_waitsome_statuses_are_packed(self):
        reqs = [self.done(1, 5), MPI.Request(), self.done(2, 7)]
        statuses = []
        self.assertEqual(MPI.Request.Waitsome(reqs, statuses), [0, 2])
        self.assertEqual([(s.source, s.tag) for s in statuses], [(1, 5), (2, 7)])
        self.assertIsNone(MPI.Request.Waitsome(reqs, statuses))     # none active

    def test_testsome_statuses_reset_past_the_completed(self):
        reqs = [self.done(3, 1), MPI.Request()]
        old = MPI.Status()
        old.source = 9
        statuses = [MPI.Status(), old]
        self.assertEqual(MPI.Request.Testsome(reqs, statuses), [0])
        self.assertEqual([s.source for s in statuses], [3, MPI.ANY_SOURCE])

    def test_statuses_any_sequence(self):
        reqs = [MPI.Request(), MPI.Request()]
        for statuses in ((MPI.Status(),), (), [MPI.Status()]):
            MPI.Request.Waitall(reqs, statuses)
        grown = []
        MPI.Request.Waitall(reqs, grown)
        self.assertEqual(len(grown), 2)      # a list grows to one status a request


if __name__ == '__main__':
    unittest.main()
