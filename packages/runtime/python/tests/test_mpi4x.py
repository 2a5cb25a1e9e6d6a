"""mpi4py 4.x API pieces the shim provides beside 3.1.4's (what mpi4py 4.1.2's own tests
use), and that each keeps 3.1.4's calls working."""
import pickle
import unittest

from mpi4py import MPI


def mysum(a, b, datatype=None):
    return a + b


class TestOps(unittest.TestCase):

    def test_predefined_pickle_as_themselves(self):
        for op in (MPI.SUM, MPI.MAXLOC, MPI.OP_NULL, MPI.NO_OP, MPI.REPLACE):
            self.assertIs(pickle.loads(pickle.dumps(op)), op)
            copy = pickle.loads(pickle.dumps(MPI.Op(op)))
            self.assertIsNot(copy, op)
            self.assertEqual(copy, op)

    def test_user_op_pickles_as_a_new_op(self):
        for commute in (True, False):
            op1 = MPI.Op.Create(mysum, commute)
            op2 = pickle.loads(pickle.dumps(op1))
            self.assertNotEqual(op1, op2)
            self.assertEqual(MPI.Op(op1), op1)
            self.assertEqual(op2(2, 3), 5)
            self.assertEqual(op2.Is_commutative(), commute)
            op1.Free()
            op2.Free()

    def test_at_most_32_user_ops_and_free_gives_slots_back(self):
        for _ in range(40):             # garbage ops give their slot back
            MPI.Op.Create(mysum)
        ops = [MPI.Op.Create(mysum) for _ in range(32)]
        with self.assertRaises(RuntimeError):
            MPI.Op.Create(mysum)
        for op in ops:
            op.Free()
        ops = [MPI.Op.Create(mysum) for _ in range(32)]
        for op in ops:
            op.Free()
        self.assertEqual(ops[0].toint(), -1)


class TestHandlePickling(unittest.TestCase):

    def test_predefined_handles(self):
        for handle in (MPI.COMM_NULL, MPI.COMM_SELF, MPI.COMM_WORLD, MPI.GROUP_NULL,
                       MPI.GROUP_EMPTY, MPI.MESSAGE_NULL, MPI.MESSAGE_NO_PROC,
                       MPI.REQUEST_NULL):
            self.assertIs(pickle.loads(pickle.dumps(handle)), handle)
        copy = pickle.loads(pickle.dumps(MPI.Intracomm(MPI.COMM_WORLD)))
        self.assertIsNot(copy, MPI.COMM_WORLD)
        self.assertEqual(copy, MPI.COMM_WORLD)
        self.assertIs(type(copy), MPI.Intracomm)
        copy = pickle.loads(pickle.dumps(MPI.Group(MPI.GROUP_NULL)))
        self.assertIsNot(copy, MPI.GROUP_NULL)
        self.assertEqual(copy, MPI.GROUP_NULL)

    def test_other_handles_cannot_be_pickled(self):
        group = MPI.COMM_WORLD.Get_group()
        self.assertRaises(ValueError, pickle.dumps, group)
        self.assertRaises(ValueError, pickle.dumps, MPI.COMM_WORLD.Dup())
        preq = MPI.COMM_SELF.Send_init(b'', MPI.PROC_NULL)
        self.assertRaises(ValueError, pickle.dumps, preq)


class TestStatusRequest(unittest.TestCase):

    def test_status_setters_and_tomemory(self):
        st = MPI.Status()
        st.count = 7
        self.assertEqual(st.count, 7)
        st.cancelled = True
        self.assertIs(st.cancelled, True)
        st.source, st.tag, st.error = 11, 22, 33
        mem = st.tomemory()
        seq = list(mem)
        mem[seq.index(11)] = 111
        mem[seq.index(22)] = 222
        mem[seq.index(33)] = 333
        self.assertEqual((st.source, st.tag, st.error), (111, 222, 333))

    def test_get_status_many_of_null_requests(self):
        reqs = [MPI.Request() for _ in range(3)]
        statuses = [MPI.Status() for _ in reqs]
        for st in statuses:
            st.source = st.tag = 5
        self.assertTrue(MPI.Request.Get_status_all(reqs, statuses))
        self.assertEqual([(s.source, s.tag) for s in statuses],
                         [(MPI.ANY_SOURCE, MPI.ANY_TAG)] * 3)
        self.assertEqual(MPI.Request.Get_status_any(reqs), (MPI.UNDEFINED, True))
        self.assertIsNone(MPI.Request.get_status_some(reqs))

    def test_get_status_many_of_done_requests(self):
        reqs = [MPI.Request()._local(3, 4, 8), MPI.Request()]
        statuses = []
        self.assertTrue(MPI.Request.Get_status_all(reqs, statuses))
        self.assertEqual((statuses[0].source, statuses[0].tag), (3, 4))
        self.assertEqual(MPI.Request.Get_status_any(reqs), (0, True))
        self.assertEqual(MPI.Request.Get_status_some(reqs), [0])
        self.assertTrue(reqs[0])        # not freed

    def test_prequest_copies_and_integer_handles(self):
        preq = MPI.COMM_SELF.Send_init(b'', MPI.PROC_NULL, 0)
        for dupe in (MPI.Prequest(preq), MPI.Prequest.fromhandle(preq.handle),
                     MPI.Prequest.fromint(preq.toint()), MPI.Prequest.f2py(preq.py2f())):
            self.assertIs(type(dupe), MPI.Prequest)
            self.assertEqual(dupe, preq)
        self.assertIs(type(MPI.Request(preq)), MPI.Request)
        self.assertEqual(MPI.Request(preq), preq)
        with self.assertRaises(TypeError):
            MPI.Grequest(preq)
        preq.Free()


class TestCommGroup(unittest.TestCase):

    def test_compare_is_an_instance_method_callable_both_ways(self):
        self.assertEqual(MPI.COMM_WORLD.Compare(MPI.COMM_WORLD), MPI.IDENT)
        self.assertEqual(MPI.Comm.Compare(MPI.COMM_WORLD, MPI.COMM_WORLD), MPI.IDENT)
        group = MPI.COMM_WORLD.Get_group()
        self.assertEqual(group.Compare(group), MPI.IDENT)
        self.assertEqual(MPI.Group.Compare(group, MPI.GROUP_EMPTY), MPI.UNEQUAL)
        self.assertEqual(group.Translate_ranks(group=group), list(range(group.size)))
        self.assertEqual(MPI.Group.Translate_ranks(group, [0], group), [0])
        self.assertEqual(group.Union(MPI.GROUP_EMPTY), group)
        self.assertEqual(MPI.Group.Difference(group, group), MPI.GROUP_EMPTY)

    def test_get_parent_is_a_null_intercomm(self):
        parent = MPI.Comm.Get_parent()
        self.assertIsInstance(parent, MPI.Intercomm)
        self.assertEqual(parent, MPI.COMM_NULL)

    def test_attached_buffer_per_communicator(self):
        comm = MPI.COMM_SELF
        buf = MPI.Alloc_mem(100)
        comm.Attach_buffer(buf)
        comm.Flush_buffer()
        comm.Iflush_buffer().Wait()
        self.assertIs(comm.Detach_buffer(), buf)
        comm.Attach_buffer(MPI.BUFFER_AUTOMATIC)
        self.assertEqual(comm.Detach_buffer(), MPI.BUFFER_AUTOMATIC)

    def test_info_property_and_mpi4_constructors(self):
        self.assertIsInstance(MPI.COMM_SELF.info, MPI.Info)
        self.assertIsInstance(MPI.Get_hw_resource_info(), MPI.Info)
        self.assertEqual(MPI.Get_version(), (3, 1))      # MPI 4 constructors: not there
        with self.assertRaises(NotImplementedError):
            MPI.Intracomm.Create_from_group(MPI.COMM_SELF.Get_group())
        with self.assertRaises(NotImplementedError):
            MPI.Session.Init()


class TestErrorsAndTypes(unittest.TestCase):

    def test_remove_error_class_code_string(self):
        errclass = MPI.Add_error_class()
        code = MPI.Add_error_code(errclass)
        MPI.Add_error_string(code, 'code')
        self.assertRaises(MPI.Exception, MPI.Remove_error_class, errclass)   # has a code
        self.assertRaises(MPI.Exception, MPI.Remove_error_code, code)        # has a string
        MPI.Remove_error_string(code)
        self.assertEqual(MPI.Get_error_string(code), '')
        MPI.Remove_error_code(code)
        self.assertRaises(MPI.Exception, MPI.Remove_error_code, code)
        MPI.Remove_error_class(errclass)
        self.assertRaises(MPI.Exception, MPI.Remove_error_class, errclass)
        self.assertRaises(MPI.Exception, MPI.Remove_error_class, MPI.ERR_ARG)

    def test_mpi4_names_null_as_under_open_mpi_41(self):
        for name in ('FLOAT16_T', 'BFLOAT16_T', 'FLOAT32_T', 'FLOAT64_T', 'LOGICAL16'):
            self.assertEqual(getattr(MPI, name), MPI.DATATYPE_NULL)
        self.assertEqual(MPI.ERR_SESSION, MPI.ERR_LASTCODE)
        self.assertEqual(MPI.COMM_TYPE_HW_GUIDED, MPI.UNDEFINED)
        self.assertFalse(MPI.SESSION_NULL is None)


class TestDatatypeCodes(unittest.TestCase):

    def test_tocode_fromcode_typechar_typestr(self):
        for dtype in (MPI.INT, MPI.INT8_T, MPI.BYTE, MPI.CHARACTER, MPI.AINT, MPI.LOGICAL,
                      MPI.LOGICAL1, MPI.DOUBLE.Dup(), MPI.Datatype.Create_f90_real(6, 30)):
            code = dtype.tocode()
            same = MPI.Datatype.fromcode(code)
            self.assertEqual((dtype.typechar, dtype.typestr), (same.typechar, same.typestr))
        self.assertEqual((MPI.INT.typechar, MPI.INT.typestr), ('i', 'i4'))
        self.assertEqual((MPI.INT_INT.typechar, MPI.INT_INT.typestr), ('V', 'V8'))
        self.assertRaises(ValueError, MPI.Datatype.fromcode, 'abc@xyz')
        self.assertRaises(ValueError, MPI.DATATYPE_NULL.tocode)
        self.assertRaises(ValueError, MPI.INT_INT.tocode)
        self.assertEqual(MPI.DATATYPE_NULL.Get_name(), 'MPI_DATATYPE_NULL')
        self.assertRaises(TypeError, MPI.Datatype, (1, 2, 3))
        self.assertEqual(MPI._typealign(MPI.DOUBLE), 8)
        self.assertIsNone(MPI._typealign(MPI.INT.Create_contiguous(2)))

    def test_contents_survive_free_of_the_parts(self):
        inner = MPI.INT.Create_vector(2, 1, 2)
        outer = inner.Create_contiguous(3)
        struct = MPI.Datatype.Create_struct([1], [0], [inner])
        inner.Free()
        self.assertEqual(outer.decode()[0].Get_size(), 8)
        self.assertEqual(struct.Get_contents()[2][0].Get_size(), 8)


class TestDatatypePicklingAndMemory(unittest.TestCase):

    def test_named_types_pickle_as_themselves_derived_ones_are_rebuilt(self):
        for dtype in (MPI.INT, MPI.SIGNED_INT, MPI.DATATYPE_NULL, MPI.INT_INT):
            self.assertIs(pickle.loads(pickle.dumps(dtype)), dtype)
            copy = pickle.loads(pickle.dumps(MPI.Datatype(dtype)))
            self.assertIsNot(copy, dtype)
            self.assertEqual(copy, dtype)
        vector = MPI.INT.Create_vector(2, 1, 3)
        for dtype in (vector, MPI.Datatype.Create_struct([1, 2], [0, 8], [MPI.INT, vector]),
                      MPI.Datatype.Create_f90_real(6, 30),
                      MPI.DOUBLE.Create_darray(4, 1, [5], [1], [-1], [4])):
            again = pickle.loads(pickle.dumps(dtype))
            self.assertEqual(again.decode()[1], dtype.decode()[1])      # new handles inside
            self.assertEqual((again.Get_extent(), again.size), (dtype.Get_extent(), dtype.size))

    def test_get_value_index(self):
        self.assertEqual(MPI.Datatype.Get_value_index(MPI.DOUBLE, MPI.INT), MPI.DOUBLE_INT)
        self.assertEqual(MPI.Datatype.Get_value_index(MPI.SHORT, MPI.INT), MPI.SHORT_INT)
        self.assertEqual(MPI.Datatype.Get_value_index(MPI.INT, MPI.FLOAT), MPI.DATATYPE_NULL)
        with self.assertRaises(MPI.Exception):
            MPI.Datatype.Get_value_index(MPI.DATATYPE_NULL, MPI.INT)
        self.assertEqual(MPI.TYPECLASS_LOGICAL, MPI.UNDEFINED)

    def test_alloc_mem_tells_its_address(self):
        mem = MPI.Alloc_mem(16)
        self.assertEqual((mem.nbytes, len(memoryview(mem))), (16, 16))
        self.assertEqual(mem.address, MPI.Get_address(mem))
        MPI.COMM_SELF.Attach_buffer(mem)
        self.assertEqual(MPI.COMM_SELF.Detach_buffer().address, mem.address)
        MPI.Free_mem(mem)



class TestCommLocks(unittest.TestCase):

    def test_lower_case_calls_take_their_lock(self):
        import threading
        comm = MPI.COMM_SELF.Dup()      # a new table (copies of one handle share it)
        table = MPI._comm_lock_table(comm)
        self.assertNotIn('bcast', table)
        self.assertIs(MPI._comm_lock_table(MPI.Comm(comm)), table)
        held = []

        def fake_bcast(self, obj, root=0):
            held.append(table['bcast'].locked())
            return obj
        saved = MPI.Comm.bcast
        try:
            from mpi4py._comm import _locked
            MPI.Comm.bcast = _locked(fake_bcast, 'bcast')
            self.assertEqual(comm.bcast(7), 7)
        finally:
            MPI.Comm.bcast = saved
        self.assertEqual(held, [True])
        self.assertIsInstance(table['bcast'], type(threading.Lock()))
        self.assertFalse(table['bcast'].locked())
        with self.assertRaises(MPI.Exception):
            MPI._comm_lock_table(MPI.COMM_NULL)


if __name__ == '__main__':
    unittest.main()
