# hello.py - the "Hello world" of MPI (seed tutorial, Part 3, verbatim below this header).
#
# Every rank prints its own rank and the size of COMM_WORLD, then all ranks wait
# for each other at a Barrier.
#
# Run:  mpiaas exec -n 4 examples/hello.py      (or: mpirun -np 4 python3 examples/hello.py)
# Lines from different ranks may come out in any order.

from mpi4py import MPI

comm = MPI.COMM_WORLD

print("Hello! I'm rank {} from {} running in total...".format(comm.rank, comm.size))

# Wait for everyone to syncronize here:
comm.Barrier()
