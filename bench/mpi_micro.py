# Micro-benchmarks of the MPI calls the README reports, written against the plain mpi4py
# API so the very same file runs under mpirun (real MPI) and under mpiaas.
# Prints one JSON object from rank 0: microseconds per operation.
import json
import sys
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.rank
scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def timed(name, repetitions, op, results):
    repetitions = max(3, int(repetitions * scale))
    for _ in range(max(2, repetitions // 10)):  # warm-up
        op()
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(repetitions):
        op()
    elapsed = time.perf_counter() - start
    # The slowest rank decides how long a collective took.
    results[name] = comm.allreduce(elapsed, op=MPI.MAX) / repetitions * 1e6


results = {}
timed("barrier", 2000, comm.Barrier, results)

small = np.zeros(1, dtype=np.float64)
timed("bcast_8B", 2000, lambda: comm.Bcast([small, MPI.DOUBLE], root=0), results)

reduced = np.zeros(1, dtype=np.float64)
timed("allreduce_8B", 2000, lambda: comm.Allreduce([small, MPI.DOUBLE], [reduced, MPI.DOUBLE], op=MPI.SUM), results)

big = np.zeros(8 * 1024 * 1024, dtype=np.uint8)
timed("bcast_8MiB", 30, lambda: comm.Bcast([big, MPI.BYTE], root=0), results)

ping = np.zeros(1, dtype=np.float64)


def pingpong():
    # Half a round trip between ranks 0 and 1 is reported (one-way latency), as is usual.
    if rank == 0:
        comm.Send([ping, MPI.DOUBLE], dest=1, tag=1)
        comm.Recv([ping, MPI.DOUBLE], source=1, tag=2)
    elif rank == 1:
        comm.Recv([ping, MPI.DOUBLE], source=0, tag=1)
        comm.Send([ping, MPI.DOUBLE], dest=0, tag=2)


timed("pingpong_roundtrip_8B", 2000, pingpong, results)

large = np.zeros(4 * 1024 * 1024, dtype=np.uint8)


def pingpong_large():
    if rank == 0:
        comm.Send([large, MPI.BYTE], dest=1, tag=3)
        comm.Recv([large, MPI.BYTE], source=1, tag=4)
    elif rank == 1:
        comm.Recv([large, MPI.BYTE], source=0, tag=3)
        comm.Send([large, MPI.BYTE], dest=0, tag=4)


timed("pingpong_4MiB_roundtrip", 40, pingpong_large, results)

if rank == 0:
    print(json.dumps(results))
