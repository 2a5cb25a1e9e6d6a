# numpy_bcast.py - broadcast a numpy array from rank 0 to every rank
# (seed tutorial, Part 3, verbatim below this header).
#
# Shows the upper-case, buffer-based Bcast: the receiving ranks pass an array of the
# right size and the data is written into it, with the MPI datatype given explicitly.
#
# Run:  mpiaas exec -n 4 examples/numpy_bcast.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD

print("-"*78)
print(" Running on %d cores" % comm.size)
print("-"*78)

comm.Barrier()

# Prepare a vector of N=5 elements to be broadcasted...
N = 5
if comm.rank == 0:
    A = np.arange(N, dtype=np.float64)    # rank 0 has the proper data
else:
    A = np.empty(N, dtype=np.float64)     # all other ranks just an empty array

# Broadcast array A from rank 0 to everybody
comm.Bcast( [A, MPI.DOUBLE] )
# The list argument contains the array to be broadcast and the corresponding
# MPI data type: MPI.DOUBLE

# Everybody should now have the same...
print("[%02d] %s" % (comm.rank, A))
