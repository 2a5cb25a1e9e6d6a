# Micro-benchmarks of the MPI calls the README reports, written against the plain mpi4py
# API so the very same file runs under mpirun (real MPI) and under mpiaas.
# Prints one JSON object from rank 0: microseconds per operation.
import json
import sys

import numpy as np
from mpi4py import MPI
from per_call import slowest_per_call
from pingpong import pingpong

comm = MPI.COMM_WORLD
rank = comm.rank
scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def timed(name, repetitions, op, results):
    results[name] = slowest_per_call(op, max(3, int(repetitions * scale))) * 1e6


results = {}
timed("barrier", 2000, comm.Barrier, results)

small = np.zeros(1, dtype=np.float64)
timed("bcast_8B", 2000, lambda: comm.Bcast([small, MPI.DOUBLE], root=0), results)

reduced = np.zeros(1, dtype=np.float64)
timed("allreduce_8B", 2000, lambda: comm.Allreduce([small, MPI.DOUBLE], [reduced, MPI.DOUBLE], op=MPI.SUM), results)

# 8 B a rank: a root's Gather and Scatter, everyone's Allgather
everyone = np.zeros(comm.size, dtype=np.float64)
timed("gather_8B", 2000, lambda: comm.Gather([small, MPI.DOUBLE], [everyone, MPI.DOUBLE], root=0), results)
timed("scatter_8B", 2000, lambda: comm.Scatter([everyone, MPI.DOUBLE], [reduced, MPI.DOUBLE], root=0), results)
timed("allgather_8B", 2000, lambda: comm.Allgather([small, MPI.DOUBLE], [everyone, MPI.DOUBLE]), results)

# 1 MiB of float64: the size of a model's gradients or a field's partial sums
grads = np.ones(128 * 1024, dtype=np.float64)
summed = np.zeros_like(grads)
timed("allreduce_1MiB", 100, lambda: comm.Allreduce([grads, MPI.DOUBLE], [summed, MPI.DOUBLE], op=MPI.SUM), results)

big = np.zeros(8 * 1024 * 1024, dtype=np.uint8)
timed("bcast_8MiB", 30, lambda: comm.Bcast([big, MPI.BYTE], root=0), results)

timed("pingpong_roundtrip_8B", 2000, pingpong(np.zeros(1, dtype=np.float64), MPI.DOUBLE), results)
timed("pingpong_4MiB_roundtrip", 40, pingpong(np.zeros(4 * 1024 * 1024, dtype=np.uint8), MPI.BYTE), results)

if rank == 0:
    print(json.dumps(results))
