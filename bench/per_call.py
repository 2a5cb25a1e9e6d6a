# Timing one MPI call in a loop, shared by the bench scripts (mpi_micro.py, rank_cpu.py, window.py,
# reductions.py), imported from beside them as pingpong.py is.
import time

from mpi4py import MPI


def per_call(op, calls, comm=MPI.COMM_WORLD):
    """(wall, CPU) seconds per call of op on this rank: a tenth as many calls (2 at least)
    to warm up, a Barrier so that every rank starts together, then `calls` calls."""
    for _ in range(max(2, calls // 10)):
        op()
    comm.Barrier()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        op()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def slowest_per_call(op, calls, comm=MPI.COMM_WORLD):
    """Wall seconds per call of the slowest rank: it decides how long a collective took."""
    return comm.allreduce(per_call(op, calls, comm)[0], op=MPI.MAX)
