"""mpi4py.util.sync: Sequential's token passing, and Counter, Mutex, Condition and Semaphore
on a communicator of one process (they need RMA windows on larger ones, which mpiaas does
not have: NotImplementedError)."""
import threading
import time
import unittest

from mpi4py import MPI
from mpi4py.util import sync


class FakeComm:
    """A communicator of `size` processes seen from `rank`, recording point-to-point calls."""

    def __init__(self, rank, size):
        self.rank, self.size, self.calls = rank, size, []

    def Get_rank(self):
        return self.rank

    def Get_size(self):
        return self.size

    def Recv(self, buf, source, tag):
        self.calls.append(('Recv', source, tag, len(buf[0])))

    def Send(self, buf, dest, tag):
        self.calls.append(('Send', dest, tag, len(buf[0])))


class TestSequential(unittest.TestCase):

    def test_each_rank_waits_for_the_one_before_and_wakes_the_next(self):
        for rank, expected in ((0, [('Send', 1, 5, 0)]),
                               (1, [('Recv', 0, 5, 0), ('Send', 2, 5, 0)]),
                               (2, [('Recv', 1, 5, 0)])):
            comm = FakeComm(rank, 3)
            with sync.Sequential(comm, tag=5) as seq:
                self.assertIs(seq.comm, comm)
            self.assertEqual(comm.calls, expected)

    def test_one_process_sends_nothing(self):
        comm = FakeComm(0, 1)
        seq = sync.Sequential(comm)
        seq.begin()
        seq.end()
        self.assertEqual(comm.calls, [])
        with sync.Sequential(MPI.COMM_SELF):
            pass


class TestCounter(unittest.TestCase):

    def test_start_step_and_increments(self):
        counter = sync.Counter(start=7, step=2)
        self.assertEqual([next(counter) for _ in range(3)], [7, 9, 11])
        self.assertEqual(counter.next(10), 13)
        self.assertEqual(counter.next(0), 23)
        self.assertEqual(counter.next(-3), 23)
        self.assertEqual(next(iter(counter)), 20)

    def test_the_type_of_the_value(self):
        wraps = sync.Counter(32767, typecode='h')
        self.assertEqual([next(wraps), next(wraps)], [32767, -32768])
        unsigned = sync.Counter(0, typecode='B')
        self.assertEqual(unsigned.next(-1), 0)
        self.assertEqual(unsigned.next(0), 255)
        floats = sync.Counter(0.5, step=0.25, typecode='d')
        self.assertEqual([next(floats), next(floats)], [0.5, 0.75])
        self.assertEqual(sync.Counter(0.1, typecode='f').next(0), 0.10000000149011612)

    def test_threads_never_lose_an_increment(self):
        counter = sync.Counter()
        seen = []

        def take():
            seen.extend(next(counter) for _ in range(500))
        threads = [threading.Thread(target=take) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(seen), list(range(2000)))

    def test_free(self):
        counter = sync.Counter()
        for _ in range(3):
            counter.free()
        self.assertRaises(RuntimeError, counter.next)

    def test_root_outside_the_communicator(self):
        with self.assertRaises(MPI.Exception) as raised:
            sync.Counter(root=1)
        self.assertEqual(raised.exception.Get_error_class(), MPI.ERR_RANK)


class TestMutex(unittest.TestCase):

    def test_plain(self):
        mutex = sync.Mutex()
        self.assertFalse(mutex.locked())
        self.assertRaises(RuntimeError, mutex.release)
        self.assertTrue(mutex.acquire(blocking=False))
        self.assertTrue(mutex.locked())
        self.assertRaises(RuntimeError, mutex.acquire)
        mutex.release()
        with mutex:
            self.assertEqual(mutex.count(), 1)
        self.assertFalse(mutex.locked())

    def test_recursive(self):
        mutex = sync.Mutex(recursive=True)
        with mutex:
            with mutex:
                self.assertEqual(mutex.count(), 2)
            self.assertEqual(mutex.count(), 1)
        self.assertEqual(mutex.count(), 0)
        self.assertRaises(RuntimeError, mutex.release)

    def test_free_while_held(self):
        mutex = sync.Mutex()
        mutex.acquire()
        for _ in range(3):
            mutex.free()
        for call in (mutex.acquire, mutex.release, mutex.locked, mutex.count):
            self.assertRaises(RuntimeError, call)


class TestCondition(unittest.TestCase):

    def test_notify_wakes_a_waiting_thread(self):
        cv = sync.Condition()
        with cv:
            self.assertEqual(cv.notify(), 0)
        state = []

        def waiter():
            try:
                with cv:
                    state.append('waiting')
                    cv.wait_for(lambda: 'go' in state)
                    self.assertTrue(cv.locked())
                    state.append('woken')
            except Exception as exc:    # noqa: BLE001 (reported below, not lost in the thread)
                state.append(exc)
        thread = threading.Thread(target=waiter)
        thread.start()
        while not cv._sleepers:     # until the waiter sleeps
            time.sleep(0.001)
        with cv:
            state.append('go')
            woken = cv.notify_all()
            time.sleep(0.01)        # the woken thread holds the mutex only once we let it go
            self.assertEqual(state[-1], 'go')
        thread.join(5)
        self.assertEqual((woken, state[-1]), (1, 'woken'))
        self.assertRaises(RuntimeError, cv.wait)
        self.assertRaises(RuntimeError, cv.notify)

    def test_with_a_mutex_given_and_free(self):
        mutex = sync.Mutex()
        cv = sync.Condition(mutex)
        with cv:
            self.assertTrue(mutex.locked())
        cv.free()
        self.assertFalse(mutex.locked())    # the mutex stays usable: it is not the condition's
        for call in (cv.acquire, cv.release, cv.wait, cv.notify, cv.notify_all):
            self.assertRaises(RuntimeError, call)
        self.assertRaises(RuntimeError, cv.wait_for, lambda: False)


class TestSemaphore(unittest.TestCase):

    def test_counts_units(self):
        sem = sync.Semaphore(2)
        self.assertTrue(sem.acquire())
        self.assertTrue(sem.acquire())
        self.assertFalse(sem.acquire(blocking=False))
        sem.release(2)
        self.assertRaises(ValueError, sem.release)      # bounded by its initial value
        with sem:
            self.assertEqual(sem._counter.next(0), 1)
        self.assertRaises(ValueError, sem.release, 0)
        self.assertRaises(ValueError, sync.Semaphore, -1)
        unbounded = sync.Semaphore(1, bounded=False)
        unbounded.release(3)
        self.assertEqual(unbounded._counter.next(0), 4)

    def test_free(self):
        sem = sync.Semaphore()
        sem.free()
        self.assertRaises(RuntimeError, sem.acquire)
        self.assertRaises(RuntimeError, sem.release)


class TestMoreThanOneProcess(unittest.TestCase):

    def test_refused_naming_what_is_missing(self):
        comm = FakeComm(0, 2)
        for make in (lambda: sync.Counter(comm=comm), lambda: sync.Mutex(comm=comm),
                     lambda: sync.Condition(comm=comm), lambda: sync.Semaphore(comm=comm)):
            with self.assertRaises(NotImplementedError) as raised:
                make()
            self.assertIn('on a communicator of 2 processes needs one-sided communication',
                          str(raised.exception))


if __name__ == '__main__':
    unittest.main()
