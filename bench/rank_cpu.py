# CPU time each rank spends per call (time.process_time), beside the wall time: on a machine
# with fewer cores than ranks + agent, the CPU the ranks burn is what the wall time becomes.
# Written against the plain mpi4py API: runs under mpirun and under mpiaas.
# Usage: mpiaas exec -n 4 bench/rank_cpu.py [calls]     (prints one line per operation)
import sys
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
calls = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
small = np.zeros(1)
result = np.zeros(1)
operations = {
    "barrier": comm.Barrier,
    "allreduce_8B": lambda: comm.Allreduce([small, MPI.DOUBLE], [result, MPI.DOUBLE], op=MPI.SUM),
    "bcast_8B": lambda: comm.Bcast([small, MPI.DOUBLE], root=0),
}
for name, op in operations.items():
    for _ in range(calls // 10):   # warm-up
        op()
    comm.Barrier()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        op()
    per_call = ((time.perf_counter() - wall) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6)
    measured = comm.gather(per_call)
    if comm.rank == 0:
        print("%-13s wall %7.1f µs   CPU per rank %s µs" % (
            name, max(w for w, _ in measured), " ".join("%.0f" % c for _, c in measured)))
