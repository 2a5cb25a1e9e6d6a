# CPU time each rank spends per call (time.process_time), beside the wall time: on a machine
# with fewer cores than ranks + agent, the CPU the ranks burn is what the wall time becomes.
# Written against the plain mpi4py API: runs under mpirun and under mpiaas.
# Usage: mpiaas exec -n 4 bench/rank_cpu.py [calls]     (prints one line per operation)
import sys

import numpy as np
from mpi4py import MPI
from per_call import per_call
from pingpong import pingpong

comm = MPI.COMM_WORLD
calls = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
small = np.zeros(1)
result = np.zeros(1)
operations = {
    "barrier": comm.Barrier,
    "allreduce_8B": lambda: comm.Allreduce([small, MPI.DOUBLE], [result, MPI.DOUBLE], op=MPI.SUM),
    "bcast_8B": lambda: comm.Bcast([small, MPI.DOUBLE], root=0),
    "pingpong_8B": pingpong(np.zeros(1), MPI.DOUBLE),
}
for name, op in operations.items():
    measured = comm.gather(per_call(op, calls))
    if comm.rank == 0:
        print("%-13s wall %7.1f µs   CPU per rank %s µs" % (
            name, max(w for w, _ in measured) * 1e6, " ".join("%.0f" % (c * 1e6) for _, c in measured)))
