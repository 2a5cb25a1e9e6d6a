# Ping-pong round trips between ranks 0 and 1 at message sizes from 8 B to 4 MiB (as
# osu_latency), written against the plain mpi4py API so the very same file runs under mpirun
# and under mpiaas. Prints one JSON object from rank 0: bytes -> microseconds per round trip.
import json
import sys

import numpy as np
from mpi4py import MPI
from pingpong import pingpong

comm = MPI.COMM_WORLD
rank = comm.rank
scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
SIZES = [8, 1024, 16384, 65536, 262144, 1048576, 4194304]

results = {}
for size in SIZES:
    roundtrip = pingpong(np.zeros(size, dtype=np.uint8), MPI.BYTE)
    repetitions = max(3, int((1000 if size <= 65536 else 100) * scale))
    for timed in (False, True):  # a warm-up pass, then the timed one
        comm.Barrier()
        start = MPI.Wtime()
        for _ in range(repetitions if timed else max(2, repetitions // 10)):
            roundtrip()
        elapsed = MPI.Wtime() - start
    results[size] = elapsed / repetitions * 1e6

if rank == 0:
    print(json.dumps(results))
