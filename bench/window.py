# osu_bw's inner loop on its own: rank 0 posts a window of Isends and waits for them, rank 1
# a window of Irecvs, then rank 1 acknowledges; prints each rank's wall and CPU time per
# window. Written against the plain mpi4py API: runs under mpirun and under mpiaas.
# Usage: mpiaas exec -n 2 bench/window.py [window] [bytes] [windows]
import sys

import numpy as np
from mpi4py import MPI
from per_call import per_call

comm = MPI.COMM_WORLD
window = int(sys.argv[1]) if len(sys.argv) > 1 else 64
size = int(sys.argv[2]) if len(sys.argv) > 2 else 1
windows = int(sys.argv[3]) if len(sys.argv) > 3 else 200
buf = np.zeros(size, dtype=np.uint8)
ack = np.zeros(4, dtype=np.uint8)


def one_window():
    if comm.rank == 0:
        requests = [comm.Isend([buf, size, MPI.BYTE], 1, 100) for _ in range(window)]
        MPI.Request.Waitall(requests)
        comm.Recv([ack, 4, MPI.BYTE], 1, 101)
    elif comm.rank == 1:
        requests = [comm.Irecv([buf, size, MPI.BYTE], 0, 100) for _ in range(window)]
        MPI.Request.Waitall(requests)
        comm.Send([ack, 4, MPI.BYTE], 0, 101)


measured = comm.gather(per_call(one_window, windows))
if comm.rank == 0:
    for rank, (w, c) in enumerate(measured[:2]):
        print('rank %d (%s): %.0f us per window of %d x %d B, CPU %.0f us'
              % (rank, 'Isend' if rank == 0 else 'Irecv', w * 1e6, window, size, c * 1e6))
