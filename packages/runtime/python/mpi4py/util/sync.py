"""mpi4py.util.sync (mpi4py 4.x): synchronization utilities.

`Sequential` passes a token from rank to rank with point-to-point messages, as mpi4py does,
and works on any intracommunicator.

`Counter`, `Mutex`, `Condition` and `Semaphore` are built in mpi4py on one-sided
communication: a window on the owner's memory (`MPI.Win.Allocate`) that any process updates
atomically (Fetch_and_op, Compare_and_swap) without the owner taking part.  mpiaas has no
RMA windows.  Point-to-point cannot stand in for them: the owner would have to answer every
request, and a rank blocked in an MPI call of its own (a Barrier, a Recv) cannot, so a job
using them would deadlock.  They are therefore provided for communicators of one process —
`COMM_SELF`, their default — where the memory is this process's own and every operation is
local and exact; on a larger communicator they raise NotImplementedError.
"""

import array as _array
import threading as _threading

from .. import MPI

__all__ = ['Sequential', 'Counter', 'Mutex', 'Condition', 'Semaphore']


class Sequential:
    """`with Sequential(comm):` runs its block on one rank of comm at a time, in rank order."""

    def __init__(self, comm, tag=0):
        self.comm = comm
        self.tag = int(tag)

    def __enter__(self):
        self.begin()
        return self

    def __exit__(self, *exc):
        self.end()

    def begin(self):
        """Wait for the rank before this one to end its turn."""
        rank = self.comm.Get_rank()
        if self.comm.Get_size() > 1 and rank > 0:
            self.comm.Recv((bytearray(), 0, MPI.BYTE), rank - 1, self.tag)

    def end(self):
        """Hand the turn to the next rank."""
        rank, size = self.comm.Get_rank(), self.comm.Get_size()
        if size > 1 and rank < size - 1:
            self.comm.Send((bytearray(), 0, MPI.BYTE), rank + 1, self.tag)


def _one_process(comm, what):
    size = comm.Get_size()
    if size != 1:
        raise NotImplementedError(
            'mpi4py.util.sync.%s on a communicator of %d processes needs one-sided '
            'communication (MPI.Win), which mpiaas does not support; it works on '
            'communicators of one process (COMM_SELF)' % (what, size))


class Counter:
    """A shared counter: next() returns its value and adds the step, atomically."""

    def __init__(self, start=0, step=1, *, typecode='i', comm=MPI.COMM_SELF,
                 info=MPI.INFO_NULL, root=0):
        self._typechar = MPI.Datatype.fromcode(typecode).typechar
        if not 0 <= root < comm.Get_size():
            raise MPI.Exception(MPI.ERR_RANK)
        _one_process(comm, 'Counter')
        self._start = start
        self._step = step
        self._value = self._typed(start)
        self._lock = _threading.Lock()
        self._comm = comm
        self._freed = False

    def _typed(self, value):
        """value as the counter's C type holds it (integers wrap around, as in MPI)."""
        typechar = self._typechar
        if typechar in 'fd':
            return _array.array(typechar, [value])[0]
        bits = 8 * _array.array(typechar).itemsize
        value = int(value) % (1 << bits)
        if typechar.islower() and value >= 1 << (bits - 1):
            value -= 1 << bits
        return value

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def next(self, incr=None):
        """The value before adding incr (default: the step)."""
        if self._freed:
            raise RuntimeError('counter already freed')
        with self._lock:
            previous = self._value
            self._value = self._typed(previous + (self._step if incr is None else incr))
        return previous

    def free(self):
        self._freed = True
        self._comm = MPI.COMM_NULL


class Mutex:
    """Mutual exclusion between the processes of comm (optionally recursive)."""

    def __init__(self, *, recursive=False, comm=MPI.COMM_SELF, info=MPI.INFO_NULL):
        _one_process(comm, 'Mutex')
        self._recursive = bool(recursive)
        self._held = 0              # how many times this process holds it
        self._released = _threading.Condition()
        self._comm = comm
        self._freed = False

    def _check(self):
        if self._freed:
            raise RuntimeError('mutex already freed')

    def acquire(self, blocking=True):
        """True once held.  The only process of comm never waits for another."""
        self._check()
        if self._held:
            if not self._recursive:
                raise RuntimeError('cannot acquire already held mutex')
        self._held += 1
        return True

    def release(self):
        self._check()
        if not self._held:
            raise RuntimeError('cannot release unheld mutex')
        with self._released:
            self._held -= 1
            self._released.notify_all()

    def locked(self):
        self._check()
        return self._held > 0

    def count(self):
        """How many times the mutex is held (recursion depth)."""
        self._check()
        return self._held

    def _release_save(self):
        with self._released:
            held, self._held = self._held, 0
            self._released.notify_all()
        return held

    def _acquire_restore(self, held):
        # a Condition's waiter, once woken, holds the mutex again only after whoever
        # notified it (another thread of this process) has released it
        with self._released:
            while self._held and not self._freed:
                self._released.wait()
            self._held = held

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def free(self):
        with self._released:
            self._held = 0
            self._freed = True
            self._released.notify_all()
        self._comm = MPI.COMM_NULL


class Condition:
    """A condition variable over a Mutex (a recursive one of its own if none is given)."""

    def __init__(self, mutex=None, *, recursive=True, comm=MPI.COMM_SELF, info=MPI.INFO_NULL):
        if mutex is None:
            mutex = Mutex(recursive=recursive, comm=comm, info=info)
            self._own_mutex = True
        else:
            comm = mutex._comm
            self._own_mutex = False
        _one_process(comm, 'Condition')
        self._mutex = mutex
        self._sleepers = []         # events of the waits not notified yet, oldest first
        self._lock = _threading.Lock()
        self._comm = comm
        self._freed = False

    def _check(self):
        if self._freed:
            raise RuntimeError('condition already freed')

    def acquire(self, blocking=True):
        self._check()
        return self._mutex.acquire(blocking)

    def release(self):
        self._check()
        self._mutex.release()

    def locked(self):
        return self._mutex.locked()

    def wait(self):
        """Release the mutex, sleep until notified, hold it again.  With one process only
        another thread of it can notify."""
        self._check()
        if not self.locked():
            raise RuntimeError('cannot wait on unheld mutex')
        woken = _threading.Event()
        with self._lock:
            self._sleepers.append(woken)
        held = self._mutex._release_save()
        woken.wait()
        self._mutex._acquire_restore(held)
        return True

    def wait_for(self, predicate):
        result = predicate()
        while not result:
            self.wait()
            result = predicate()
        return result

    def notify(self, n=1):
        """Wake up to n waiters; returns how many were woken."""
        self._check()
        if not self.locked():
            raise RuntimeError('cannot notify on unheld mutex')
        with self._lock:
            woken, self._sleepers = self._sleepers[:max(0, n)], self._sleepers[max(0, n):]
        for event in woken:
            event.set()
        return len(woken)

    def notify_all(self):
        return self.notify(len(self._sleepers))

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def free(self):
        if self._own_mutex:
            self._mutex.free()
        self._freed = True
        self._comm = MPI.COMM_NULL


class Semaphore:
    """A counting semaphore (bounded by its initial value unless bounded=False)."""

    def __init__(self, value=1, *, bounded=True, comm=MPI.COMM_SELF, info=MPI.INFO_NULL):
        if value < 0:
            raise ValueError('initial value must be non-negative')
        self._bounded = bool(bounded)
        self._counter = Counter(value, comm=comm, info=info)
        self._condvar = Condition(recursive=False, comm=comm, info=info)
        self._comm = comm

    def acquire(self, blocking=True):
        """Take one unit: True, or False if none is free and blocking is False."""
        with self._condvar:
            while self._counter.next(0) == 0:
                if not blocking:
                    return False
                self._condvar.wait()
            self._counter.next(-1)
            return True

    def release(self, n=1):
        """Give back n units (ValueError past the initial value when bounded)."""
        if n < 1:
            raise ValueError('increment must be one or more')
        with self._condvar:
            if self._bounded and self._counter.next(0) + n > self._counter._start:
                raise ValueError('semaphore released too many times')
            self._counter.next(n)
            self._condvar.notify(n)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def free(self):
        self._counter.free()
        self._condvar.free()
        self._comm = MPI.COMM_NULL
