"""MPIPoolExecutor and MPICommExecutor (mpi4py.futures API) on the task farm (_farm).

There is no MPI_Comm_spawn in mpiaas, so workers are ranks of the job:
* MPICommExecutor(comm, root): the ranks of comm other than root serve tasks while the
  with-block runs on root (exactly mpi4py's behaviour); with one rank, root runs them.
* MPIPoolExecutor: under `python -m mpi4py.futures script.py` (mpiaas exec --futures)
  the ranks other than 0 serve, as with mpi4py; otherwise the rank runs its tasks
  itself in a background thread (mpi4py would spawn new processes here).
* ThreadPoolExecutor: threads of this process, as in mpi4py.
"""

import concurrent.futures as _cf

from .. import MPI
from . import _farm

_launcher = {'comm': None}      # set by `python -m mpi4py.futures`: COMM_WORLD's farm


class MPIPoolExecutor(_cf.Executor):
    """Executor whose tasks run on the job's worker ranks (see the module docstring)."""

    Future = _cf.Future

    def __init__(self, max_workers=None, initializer=None, initargs=(), **kwargs):
        comm = _launcher['comm']
        workers = [] if comm is None else list(range(1, comm.Get_size()))
        if max_workers is not None:
            if max_workers <= 0:
                raise ValueError('max_workers must be greater than 0')
            workers = workers[:max_workers]
        self._farm = _farm.Farm(comm, workers, initializer, initargs)

    def bootup(self, wait=True):
        return self

    def submit(self, fn, /, *args, **kwargs):
        future = self.Future()
        self._farm.submit(future, fn, args, kwargs)
        return future

    def map(self, fn, *iterables, timeout=None, chunksize=1, unordered=False):
        return self.starmap(fn, zip(*iterables), timeout, chunksize, unordered)

    def starmap(self, fn, iterable, timeout=None, chunksize=1, unordered=False):
        futures = [self.submit(fn, *args) for args in iterable]
        if unordered:
            return (f.result() for f in _cf.as_completed(futures, timeout))
        return _results(futures, timeout)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._farm.close(wait, cancel_futures)


def _results(futures, timeout):
    import time
    deadline = None if timeout is None else time.monotonic() + timeout
    for f in futures:
        yield f.result(None if deadline is None else max(0, deadline - time.monotonic()))


class ThreadPoolExecutor(MPIPoolExecutor):
    """MPIPoolExecutor whose tasks run on threads of this process, never on other ranks
    (as mpi4py 4.x's; util.pool.ThreadPool is built on it)."""

    def __init__(self, max_workers=None, initializer=None, initargs=(), **kwargs):
        if max_workers is not None and max_workers <= 0:
            raise ValueError('max_workers must be greater than 0')
        self._threads = _cf.ThreadPoolExecutor(max_workers, thread_name_prefix='mpi4py.futures',
                                               initializer=initializer, initargs=initargs)

    def submit(self, fn, /, *args, **kwargs):
        return self._threads.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._threads.shutdown(wait, cancel_futures=cancel_futures)


class ProcessPoolExecutor(MPIPoolExecutor):
    pass


class MPICommExecutor:
    """`with MPICommExecutor(comm, root) as executor:` executor on root, None elsewhere
    (after the workers were released by root leaving its with-block)."""

    def __init__(self, comm=None, root=0, **kwargs):
        if comm is None:
            comm = MPI.COMM_WORLD
        if comm.Is_inter():
            raise ValueError('expecting an intracommunicator')
        if not 0 <= root < comm.Get_size():
            raise ValueError('expecting a valid root rank')
        self._comm, self._root, self._kwargs = comm, root, kwargs
        self._executor = None

    def __enter__(self):
        comm = self._comm.Dup()     # the farm's traffic stays out of the script's way
        self._dup = comm
        if comm.Get_rank() != self._root:
            _farm.serve(comm, self._root)
            return None
        executor = MPIPoolExecutor.__new__(MPIPoolExecutor)
        workers = [r for r in range(comm.Get_size()) if r != self._root]
        executor._farm = _farm.Farm(comm, workers, self._kwargs.get('initializer'),
                                    self._kwargs.get('initargs', ()))
        self._executor = executor
        return executor

    def __exit__(self, *exc):
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor._farm.stop_workers()
            self._executor = None
        self._dup.Free()
        return False


def get_comm_workers():
    """The communicator the workers serve on (COMM_WORLD under the launcher)."""
    return _launcher['comm'] or MPI.COMM_WORLD


