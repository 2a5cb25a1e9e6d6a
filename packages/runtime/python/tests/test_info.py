"""MPI.Info as a mapping and a handle, as mpi4py 3.1.4 and 4.1.2 have it: the mapping methods
raise KeyError on INFO_NULL, Create takes items (4.x), pickling keeps the predefined handles
and copies a created one's items."""
import pickle
import unittest

from mpi4py import MPI


class TestInfoMapping(unittest.TestCase):

    def test_null_mapping_methods(self):
        null = MPI.INFO_NULL
        for call in (lambda: null['k'], lambda: null.__setitem__('k', 'v'),
                     lambda: null.__delitem__('k'), lambda: null.update([]),
                     lambda: null.pop('k'), null.popitem):
            with self.assertRaises(KeyError):
                call()
        self.assertIsNone(null.pop('k', None))
        self.assertEqual(null.copy(), null)
        null.clear()
        self.assertEqual((len(null), null.keys(), null.items()), (0, [], []))

    def test_create_with_items_pop_and_popitem(self):
        for items in ({'a': '1', 'b': '2'}, [('a', '1'), ('b', '2')]):
            info = MPI.Info.Create(items)
            self.assertEqual(info.items(), [('a', '1'), ('b', '2')])
            self.assertEqual(info.pop('a'), '1')
            self.assertEqual(info.pop('a', 'gone'), 'gone')
            self.assertEqual(info.popitem(), ('b', '2'))
            with self.assertRaises(KeyError):
                info.popitem()
            info.Free()
        with self.assertRaises(TypeError):
            MPI.Info.Create(items=123)

    def test_create_env_needs_mpi_4(self):
        with self.assertRaises(NotImplementedError):
            MPI.Info.Create_env()

    def test_pickle(self):
        self.assertIs(pickle.loads(pickle.dumps(MPI.INFO_NULL)), MPI.INFO_NULL)
        self.assertIs(pickle.loads(pickle.dumps(MPI.INFO_ENV)), MPI.INFO_ENV)
        null = pickle.loads(pickle.dumps(MPI.Info()))
        self.assertIsNot(null, MPI.INFO_NULL)
        self.assertEqual(null, MPI.INFO_NULL)
        env = pickle.loads(pickle.dumps(MPI.Info(MPI.INFO_ENV)))
        self.assertIsNot(env, MPI.INFO_ENV)
        self.assertEqual(env, MPI.INFO_ENV)
        made = MPI.Info.Create({'foo': 'bar'})
        copy = pickle.loads(pickle.dumps(made))
        self.assertNotEqual(copy, made)
        self.assertEqual(copy.items(), [('foo', 'bar')])
        made.Free()
        copy.Free()


if __name__ == '__main__':
    unittest.main()
