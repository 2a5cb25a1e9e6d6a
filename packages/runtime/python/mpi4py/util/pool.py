"""mpi4py.util.pool (mpi4py 4.x): the multiprocessing.pool interface over mpi4py.futures.

`Pool` hands its tasks to an `MPIPoolExecutor`: under `python -m mpi4py.futures` (launcher
"futures", `mpiaas exec --futures`) the job's other ranks run them; otherwise a thread of
this rank does (mpi4py would spawn new processes, and mpiaas has no MPI_Comm_spawn).
`ThreadPool` runs them on threads of this process.  The `*_async` calls return results
whose callbacks run once the task (for maps: every task) has ended.
"""

import threading as _threading
import warnings as _warnings

from .. import futures as _futures

__all__ = ['Pool', 'ThreadPool', 'AsyncResult', 'ApplyResult', 'MapResult']


class Pool:
    """A pool of MPI processes as workers (see the module docstring for where they run)."""

    Executor = _futures.MPIPoolExecutor

    def __init__(self, processes=None, initializer=None, initargs=(), **kwargs):
        if processes is not None and processes < 1:
            raise ValueError('number of processes must be at least 1')
        if initializer is not None and not callable(initializer):
            raise TypeError('initializer must be a callable')
        # multiprocessing's per-worker task limit and start context have no meaning here
        for name in ('maxtasksperchild', 'context'):
            if kwargs.pop(name, None) is not None:
                _warnings.warn('argument %r is not supported' % name, stacklevel=2)
        self.executor = self.Executor(processes, initializer=initializer,
                                      initargs=initargs, **kwargs)

    def apply(self, func, args=(), kwds=None):
        """func(*args, **kwds) on a worker; blocks until it returns."""
        return self.executor.submit(func, *args, **(kwds or {})).result()

    def apply_async(self, func, args=(), kwds=None, callback=None, error_callback=None):
        return ApplyResult(self.executor.submit(func, *args, **(kwds or {})),
                           callback, error_callback)

    def map(self, func, iterable, chunksize=None):
        return list(self.imap(func, iterable, chunksize or 1))

    def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        futures = [self.executor.submit(func, item) for item in iterable]
        return MapResult(_all_of(futures), callback, error_callback)

    def imap(self, func, iterable, chunksize=1):
        return self.executor.map(func, iterable, chunksize=chunksize)

    def imap_unordered(self, func, iterable, chunksize=1):
        return self.executor.map(func, iterable, chunksize=chunksize, unordered=True)

    def starmap(self, func, iterable, chunksize=None):
        return list(self.istarmap(func, iterable, chunksize or 1))

    def starmap_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        futures = [self.executor.submit(func, *args) for args in iterable]
        return MapResult(_all_of(futures), callback, error_callback)

    def istarmap(self, func, iterable, chunksize=1):
        return self.executor.starmap(func, iterable, chunksize=chunksize)

    def istarmap_unordered(self, func, iterable, chunksize=1):
        return self.executor.starmap(func, iterable, chunksize=chunksize, unordered=True)

    def close(self):
        """No more tasks; those submitted still run."""
        self.executor.shutdown(wait=False)

    def terminate(self):
        """No more tasks, and those not started yet are cancelled."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    def join(self):
        """Wait until the workers have finished (after close or terminate)."""
        self.executor.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ThreadPool(Pool):
    """A pool of threads of this process as workers."""

    Executor = _futures.ThreadPoolExecutor


class AsyncResult:
    """The result of an *_async call, wrapping its future."""

    def __init__(self, future, callback=None, error_callback=None):
        self.future = future
        self._event = _threading.Event()
        future.add_done_callback(lambda done: self._finished(done, callback, error_callback))

    def _finished(self, future, callback, error_callback):
        try:
            error = future.exception() if not future.cancelled() else TimeoutError()
            if error is not None:
                if error_callback is not None:
                    error_callback(error)
            elif callback is not None:
                callback(future.result())
        finally:
            # ready() only once the callbacks have run, as in multiprocessing
            self._event.set()

    def get(self, timeout=None):
        """The value, or the task's exception raised here; TimeoutError if not ready within
        timeout seconds (or cancelled by terminate)."""
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError
        try:
            return self.future.result()
        except _futures.CancelledError:
            raise TimeoutError from None

    def wait(self, timeout=None):
        self._event.wait(timeout)

    def ready(self):
        return self._event.is_set()

    def successful(self):
        """Whether the call returned without raising; ValueError while not ready."""
        if not self.ready():
            raise ValueError('%r not ready' % self)
        if self.future.cancelled():
            return False
        return self.future.exception() is None


class ApplyResult(AsyncResult):
    """What apply_async returns."""


class MapResult(AsyncResult):
    """What map_async and starmap_async return: the list of values in order."""


def _all_of(futures):
    """A future done once all of `futures` are: their results in order, or the first
    failure in order (a cancelled task counts as CancelledError), as list(map) would."""
    combined = _futures.Future()
    combined.set_running_or_notify_cancel()
    pending = [len(futures)]
    lock = _threading.Lock()

    def one_done(_):
        with lock:
            pending[0] -= 1
            if pending[0]:
                return
        values = []
        for future in futures:
            if future.cancelled():
                combined.set_exception(_futures.CancelledError())
                return
            error = future.exception()
            if error is not None:
                combined.set_exception(error)
                return
            values.append(future.result())
        combined.set_result(values)

    if not futures:
        combined.set_result([])
    for future in futures:
        future.add_done_callback(one_done)
    return combined
