# scatter_gather.py - hand out work with scatter, collect results with gather.
#
#   bcast     : one value from the root to everybody
#   scatter   : the root has a list with one item per rank; rank i gets item i
#   gather    : the opposite - the root collects one item from every rank
#   allgather : like gather, but every rank gets the full list
#
# Lower-case methods work on Python objects, upper-case ones on numpy arrays.
#
# Run:  mpiaas exec -n 4 examples/scatter_gather.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
last = size - 1   # we use the last rank as the root sometimes: any rank can be root

# --- lower-case: Python objects ---
settings = {"scale": 10, "label": "job"} if rank == 0 else None
settings = comm.bcast(settings, root=0)
print("rank %d: bcast settings %s" % (rank, settings))

if rank == 0:
    work = [{"task": i, "numbers": list(range(i + 1))} for i in range(size)]
else:
    work = None          # only the root needs the data to scatter
mine = comm.scatter(work, root=0)
result = sum(mine["numbers"]) * settings["scale"]
print("rank %d: scatter gave me task %d, my result is %d" % (rank, mine["task"], result))

results = comm.gather((rank, result), root=last)   # gather to the last rank
if rank == last:
    print("rank %d: gathered %s" % (rank, results))
else:
    print("rank %d: gather returns %s on non-root ranks" % (rank, results))

names = comm.allgather("r%d" % rank)
print("rank %d: allgather -> %s" % (rank, names))

# --- upper-case: numpy arrays, 3 numbers per rank ---
N = 3
if rank == 0:
    table = np.arange(size * N, dtype=np.float64).reshape(size, N)   # row i goes to rank i
    for i in range(size):
        print("rank 0: table row %d to scatter: %s" % (i, table[i]))
else:
    table = None
row = np.empty(N, dtype=np.float64)
comm.Scatter([table, MPI.DOUBLE], [row, MPI.DOUBLE], root=0)
row = row * row            # every rank squares its own row
print("rank %d: my squared row %s" % (rank, row))

squares = np.empty((size, N), dtype=np.float64) if rank == last else None
comm.Gather(row, squares, root=last)
if rank == last:
    # tolist() prints the whole 2-D array on one line
    print("rank %d: gathered squares %s" % (rank, squares.tolist()))

everyone = np.empty(size, dtype=np.int32)
comm.Allgather(np.array([rank * rank], dtype=np.int32), everyone)
print("rank %d: Allgather of rank*rank -> %s" % (rank, everyone))
