"""mpi4py.util.pool over mpi4py.futures: Pool (an MPIPoolExecutor; with no launcher its
tasks run on a thread of this rank) and ThreadPool (threads).  Across ranks, under
`python -m mpi4py.futures`, it is exercised by test/exec.test.ts and mpi4py's own
test_util_pool (scripts/mpi4py-suite.sh)."""
import threading
import time
import unittest
import warnings

from mpi4py.util import pool


def square(x, wait=0.0):
    time.sleep(wait)
    return x * x


def fail():
    raise KeyError('key')


class PoolCases:
    Pool = None

    def setUp(self):
        self.pool = self.Pool(2)

    def tearDown(self):
        self.pool.terminate()
        self.pool.join()

    def test_apply_and_maps_keep_order(self):
        p = self.pool
        self.assertEqual(p.apply(square, (5,)), 25)
        self.assertEqual(p.apply(square, (), {'x': 3}), 9)
        self.assertEqual(p.map(square, range(20), chunksize=3), [x * x for x in range(20)])
        self.assertEqual(list(p.imap(square, iter(range(5)))), [0, 1, 4, 9, 16])
        self.assertEqual(sorted(p.imap_unordered(square, range(5))), [0, 1, 4, 9, 16])
        self.assertEqual(p.starmap(pow, [(2, 3), (3, 2)]), [8, 9])
        self.assertEqual(list(p.istarmap(pow, iter([(2, 1)]))), [2])
        self.assertEqual(sorted(p.istarmap_unordered(pow, [(2, 2), (1, 5)])), [1, 4])
        self.assertEqual(p.map(square, []), [])
        self.assertEqual(p.map_async(square, []).get(), [])

    def test_async_results_and_callbacks(self):
        seen = []
        res = self.pool.apply_async(square, (7, 0.2), callback=seen.append)
        self.assertFalse(res.ready())
        self.assertRaises(ValueError, res.successful)
        self.assertRaises(TimeoutError, res.get, 0.01)
        self.assertEqual(res.get(), 49)
        self.assertTrue(res.ready() and res.successful())
        self.assertEqual(seen, [49])
        self.assertIsInstance(res, pool.ApplyResult)

        maps = self.pool.map_async(int, ['1', '2'], callback=seen.append,
                                   error_callback=seen.append)
        self.assertIsInstance(maps, pool.MapResult)
        self.assertEqual(maps.get(), [1, 2])
        bad = self.pool.map_async(int, ['1', 'x', 'y'], callback=seen.append,
                                  error_callback=seen.append)
        bad.wait()
        self.assertFalse(bad.successful())
        self.assertRaises(ValueError, bad.get)
        self.assertEqual(seen[1], [1, 2])
        self.assertIsInstance(seen[2], ValueError)
        self.assertIn("'x'", str(seen[2]))    # the first failure in order
        self.assertEqual(self.pool.starmap_async(pow, [(2, 4)]).get(), [16])

    def test_error_callback_gets_the_exception(self):
        errors = []
        res = self.pool.apply_async(fail, error_callback=errors.append)
        self.assertRaises(KeyError, res.get)
        self.assertIsInstance(errors[0], KeyError)

    def test_terminate_cancels_what_has_not_started(self):
        p = self.Pool(1)
        for _ in range(20):
            p.apply_async(time.sleep, (0.05,))
        last = p.apply_async(time.sleep, (0.05,))
        many = p.map_async(time.sleep, [0.05] * 20)
        p.terminate()
        p.join()
        for res in (last, many):
            res.wait()
            self.assertFalse(res.successful())
            self.assertRaises(TimeoutError, res.get)

    def test_close_lets_submitted_tasks_finish(self):
        p = self.Pool(1)
        results = [p.apply_async(square, (i, 0.01)) for i in range(5)]
        p.close()
        p.join()
        self.assertEqual([r.get() for r in results], [0, 1, 4, 9, 16])
        with self.Pool(1) as q:
            self.assertEqual(q.apply(square, (2,)), 4)
        q.join()

    def test_arguments(self):
        self.assertRaises(ValueError, self.Pool, 0)
        self.assertRaises(ValueError, self.Pool, -1)
        self.assertRaises(TypeError, self.Pool, initializer=123)
        started = []
        p = self.Pool(1, initializer=started.append, initargs=('up',))
        p.apply(square, (1,))
        p.close()
        p.join()
        self.assertEqual(started, ['up'])
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            self.assertRaises(UserWarning, self.Pool, 1, maxtasksperchild=1)
            self.assertRaises(UserWarning, self.Pool, 1, context=object)


class TestPool(PoolCases, unittest.TestCase):
    Pool = pool.Pool


class TestThreadPool(PoolCases, unittest.TestCase):
    Pool = pool.ThreadPool

    def test_tasks_run_on_threads_at_once(self):
        # two tasks that wait for each other finish only if both run at the same time
        meet = threading.Barrier(2, timeout=5)
        self.assertEqual(sorted(self.pool.map(lambda _: meet.wait(), range(2))), [0, 1])
        self.assertNotIn(threading.current_thread().name,
                         self.pool.map(lambda _: threading.current_thread().name, range(2)))


if __name__ == '__main__':
    unittest.main()
