# alltoall.py - every rank sends something different to every rank, and the "v"
# (variable-count) versions of the collectives.
#
#   alltoall / Alltoall : item j of my send list goes to rank j; item i of what I
#                         receive came from rank i (a "transpose" across ranks)
#   Alltoallv           : like Alltoall, but every pair may exchange a different count
#   Gatherv / Scatterv  : gather / scatter where each rank has its own count
#   Allgatherv          : Gatherv whose result every rank gets
#
# For the v-versions the receive (or send) side describes its buffer as
# [array, (counts, displacements), datatype]: counts[i] elements for rank i, starting
# at offset displacements[i].
#
# Run:  mpiaas exec -n 4 examples/alltoall.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()


def offsets(counts):
    """Displacements of consecutive blocks: [0, c0, c0+c1, ...]."""
    return [sum(counts[:i]) for i in range(len(counts))]


# --- lower-case alltoall of Python objects ---
letters = ["%d->%d" % (rank, dest) for dest in range(size)]    # item j is for rank j
received = comm.alltoall(letters)
print("rank %d: alltoall received %s" % (rank, received))

# --- upper-case Alltoall: one int per destination ---
sendbuf = np.array([100 * rank + dest for dest in range(size)], dtype=np.int32)
recvbuf = np.zeros(size, dtype=np.int32)
comm.Alltoall(sendbuf, recvbuf)
print("rank %d: Alltoall sent %s, received %s" % (rank, sendbuf, recvbuf))

# --- Alltoallv: rank r sends dest+1 copies of (10*r + dest) to each rank dest ---
sendcounts = [dest + 1 for dest in range(size)]
sendbuf = np.concatenate([np.full(dest + 1, 10 * rank + dest, dtype=np.int32)
                          for dest in range(size)])
recvcounts = [rank + 1] * size               # every rank sends me rank+1 elements
recvbuf = np.zeros(sum(recvcounts), dtype=np.int32)
comm.Alltoallv([sendbuf, (sendcounts, offsets(sendcounts)), MPI.INT],
               [recvbuf, (recvcounts, offsets(recvcounts)), MPI.INT])
print("rank %d: Alltoallv received %s" % (rank, recvbuf))

# --- Gatherv: rank r contributes r+1 copies of r; the root lays them end to end ---
counts = [r + 1 for r in range(size)]
mine = np.full(rank + 1, rank, dtype=np.float64)
if rank == 0:
    gathered = np.zeros(sum(counts), dtype=np.float64)
    comm.Gatherv(mine, [gathered, (counts, offsets(counts)), MPI.DOUBLE], root=0)
    print("rank 0: Gatherv gathered %s" % gathered)
else:
    comm.Gatherv(mine, None, root=0)

# --- Scatterv: the root hands out blocks of sizes 1, 2, ..., size (counts only:
# the displacements then default to consecutive blocks) ---
last = size - 1
if rank == last:
    data = np.arange(sum(counts), dtype=np.int64)
    print("rank %d: Scatterv of %s in blocks %s" % (rank, data, counts))
else:
    data = None
piece = np.zeros(rank + 1, dtype=np.int64)
comm.Scatterv([data, counts, MPI.INT64_T] if rank == last else None, piece, root=last)
print("rank %d: Scatterv gave me %s" % (rank, piece))

# --- Allgatherv: everyone gets every rank's block ---
everything = np.zeros(sum(counts), dtype=np.int64)
comm.Allgatherv(piece * 2, [everything, (counts, offsets(counts)), MPI.INT64_T])
print("rank %d: Allgatherv of the doubled pieces = %s" % (rank, everything))
