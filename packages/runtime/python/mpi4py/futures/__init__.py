"""mpi4py.futures for mpiaas: MPIPoolExecutor and MPICommExecutor over the job's ranks."""

from concurrent.futures import (Future, Executor, wait, FIRST_COMPLETED,  # noqa: F401
                                FIRST_EXCEPTION, ALL_COMPLETED, as_completed,
                                CancelledError, TimeoutError, BrokenExecutor)
from concurrent.futures import InvalidStateError  # noqa: F401
from .pool import (MPIPoolExecutor, MPICommExecutor, ThreadPoolExecutor,  # noqa: F401
                   ProcessPoolExecutor, get_comm_workers)
