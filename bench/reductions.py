# One reduction in a loop, for comparing builds (bench/compare-builds.mjs times
# mpi_micro.py; this times the ones it does not): milliseconds per call, slowest rank.
# Usage: mpiaas exec -n 4 bench/reductions.py reduce|reduce_scatter_block ELEMENTS CALLS
#   ELEMENTS float64 per buffer (reduce_scatter_block: per rank's block)
# Plain mpi4py API: runs under mpirun as well.
import sys

import numpy as np
from mpi4py import MPI
from per_call import slowest_per_call

comm = MPI.COMM_WORLD
kind, elements, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if kind == "reduce":
    send, recv = np.ones(elements), np.zeros(elements)
    call = lambda: comm.Reduce(send, recv, op=MPI.SUM, root=0)
elif kind == "reduce_scatter_block":
    send, recv = np.ones(elements * comm.size), np.zeros(elements)
    call = lambda: comm.Reduce_scatter_block(send, recv, op=MPI.SUM)
else:
    raise SystemExit(f"unknown reduction {kind!r}: reduce or reduce_scatter_block")
# a Reduce's non-roots return early: the slowest rank, its root, took the time of all
seconds = slowest_per_call(call, calls)
if comm.rank == 0:
    print(f"{kind} {elements} float64, np {comm.size}: {seconds * 1e3:.3f} ms")
