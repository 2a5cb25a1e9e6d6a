# ring.py - point-to-point messages around a ring of ranks.
#
# Every rank talks only to its two neighbours:  left = rank-1, right = rank+1
# (wrapping around, so the last rank's right neighbour is rank 0).
#
#   Part 1: lower-case comm.send / comm.recv move any picklable Python object.
#   Part 2: upper-case comm.Send / comm.Recv move numpy buffers without pickling.
#
# Run:  mpiaas exec -n 4 examples/ring.py
# Works on any number of ranks; with 1 rank, rank 0 is its own neighbour (this is fine
# because MPI buffers small messages, so a send to yourself returns before the recv).

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

right = (rank + 1) % size   # where we send to
left = (rank - 1) % size    # where we receive from

# --- Part 1: a token travels once around the ring (lower-case, Python objects) ---
# Rank 0 starts the token; every other rank waits for it, adds its own rank and passes
# it on; finally the token arrives back at rank 0.
status = MPI.Status()
if rank == 0:
    token = {"hops": 0, "visited": [0]}
    comm.send(token, dest=right, tag=7)
    token = comm.recv(source=left, tag=7, status=status)
    token["hops"] += 1
    print("rank 0: the token came back after %d hop(s), visiting ranks %s"
          % (token["hops"], token["visited"]))
else:
    token = comm.recv(source=left, tag=7, status=status)
    token["hops"] += 1
    token["visited"].append(rank)
    comm.send(token, dest=right, tag=7)
# The Status object tells us who sent the message we received, and with which tag.
print("rank %d: got the token from rank %d (tag %d)"
      % (rank, status.Get_source(), status.Get_tag()))

# --- Part 2: every rank sends a numpy array to its right neighbour (upper-case) ---
# To stay safe even for big messages (which MPI does not buffer), even ranks send
# first and odd ranks receive first, so two neighbours never both wait in Send.
outgoing = np.arange(4, dtype=np.int32) + 10 * rank   # e.g. rank 2 sends [20 21 22 23]
incoming = np.empty(4, dtype=np.int32)                 # filled in by Recv

if rank % 2 == 0:
    comm.Send([outgoing, MPI.INT], dest=right, tag=11)    # explicit MPI datatype
    comm.Recv(incoming, source=left, tag=11, status=status)  # datatype taken from numpy
else:
    comm.Recv(incoming, source=left, tag=11, status=status)
    comm.Send([outgoing, MPI.INT], dest=right, tag=11)

print("rank %d: received %s from rank %d, %d ints"
      % (rank, incoming, status.Get_source(), status.Get_count(MPI.INT)))

# --- Part 3: pass one number all the way round to add up every rank's value ---
# After size-1 steps of "send what I have to the right, add what comes from the left",
# every rank holds the sum 0 + 1 + ... + (size-1).
value = rank
total = rank
for step in range(size - 1):
    if rank % 2 == 0:
        comm.send(value, dest=right, tag=step)
        value = comm.recv(source=left, tag=step)
    else:
        received = comm.recv(source=left, tag=step)
        comm.send(value, dest=right, tag=step)
        value = received
    total += value
print("rank %d: the ring sum of all ranks is %d" % (rank, total))
