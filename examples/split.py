# split.py - make smaller communicators out of COMM_WORLD.
#
#   comm.Split(color, key) : ranks that pass the same color end up in the same new
#                            communicator, numbered in the order of key
#   comm.Dup()             : a copy of a communicator with its own message space
#
# Collectives and point-to-point calls on a sub-communicator only involve its
# members, and ranks are numbered from 0 inside it.
#
# Run:  mpiaas exec -n 4 examples/split.py

import numpy as np
from mpi4py import MPI

world = MPI.COMM_WORLD
rank = world.Get_rank()
size = world.Get_size()

# --- Split into "even" and "odd" ranks; key=-rank numbers them in reverse order ---
color = rank % 2
half = world.Split(color, key=-rank)
sub_rank = half.Get_rank()
sub_size = half.Get_size()
print("world rank %d: color %d, rank %d of %d in my half" % (rank, color, sub_rank, sub_size))

# Collectives on the sub-communicator only involve its own members.
members = half.allgather(rank)                          # world ranks, in sub-rank order
leader = half.bcast(rank if sub_rank == 0 else None, root=0)
total = half.allreduce(rank, op=MPI.SUM)
print("world rank %d: my half has world ranks %s, leader %d, sum of world ranks %d"
      % (rank, members, leader, total))

# Upper-case collective on the sub-communicator.
squares = np.zeros(sub_size, dtype=np.int32)
half.Allgather(np.array([rank * rank], dtype=np.int32), squares)
print("world rank %d: Allgather of rank*rank in my half = %s" % (rank, squares))

# Point-to-point inside the sub-communicator: source/dest are sub-ranks.
nxt = (sub_rank + 1) % sub_size
prv = (sub_rank - 1) % sub_size
got = half.sendrecv({"world": rank, "sub": sub_rank}, dest=nxt, source=prv)
print("world rank %d: from sub-rank %d of my half I got %s" % (rank, prv, got))

# --- Split with MPI.UNDEFINED: those ranks get no communicator (COMM_NULL) ---
trio_color = MPI.UNDEFINED if rank % 3 == 2 else rank // 3
trio = world.Split(trio_color, key=rank)
if trio == MPI.COMM_NULL:
    print("world rank %d: not in any group (color UNDEFINED)" % rank)
else:
    print("world rank %d: group %d has %d member(s), max world rank %d"
          % (rank, trio_color, trio.Get_size(), trio.allreduce(rank, op=MPI.MAX)))
    trio.Free()

# --- Dup: same ranks, separate message space ---
# The same (source, tag) on two communicators are different messages: a receive on
# `copy` only matches sends on `copy`.
copy = world.Dup()
right = (rank + 1) % size
left = (rank - 1) % size
requests = [world.isend("via world from %d" % rank, dest=right, tag=0),
            copy.isend("via dup from %d" % rank, dest=right, tag=0)]
first = copy.recv(source=left, tag=0)      # received from the Dup first on purpose
second = world.recv(source=left, tag=0)
MPI.Request.waitall(requests)
print("world rank %d: copy.recv -> %r, world.recv -> %r" % (rank, first, second))
print("world rank %d: the Dup has rank %d of %d; sum over it = %d"
      % (rank, copy.Get_rank(), copy.Get_size(), copy.allreduce(rank)))

copy.Free()
half.Free()
