# reductions.py - combine values from all ranks: reduce, allreduce, scan, exscan.
#
#   reduce    : combine one value per rank with an operation (SUM, MAX, ...);
#               only the root gets the answer
#   allreduce : same, but every rank gets the answer
#   scan      : inclusive prefix - rank i gets the combination of ranks 0..i
#   exscan    : exclusive prefix - rank i gets ranks 0..i-1 (nothing on rank 0)
#
# Lower-case methods combine Python objects; upper-case ones combine numpy arrays
# element by element. MAXLOC/MINLOC find the max/min value and the rank that has it.
# MPI.Op.Create turns your own Python function into a reduction operation.
#
# All values are integers or halves, so the results are exact whatever order MPI
# adds them in.
#
# Run:  mpiaas exec -n 4 examples/reductions.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()

# --- lower-case: Python objects ---
total = comm.reduce(rank + 1, op=MPI.SUM, root=0)   # 1 + 2 + ... + size
if rank == 0:
    print("rank 0: reduce SUM of rank+1 = %d" % total)
else:
    print("rank %d: reduce returns %s on non-root ranks" % (rank, total))

print("rank %d: allreduce MAX = %d, MIN = %d, PROD = %d, SUM of rank/2 = %s" % (
    rank,
    comm.allreduce(rank * 3, op=MPI.MAX),
    comm.allreduce(10 - rank, op=MPI.MIN),
    comm.allreduce(rank + 1, op=MPI.PROD),           # size factorial
    comm.allreduce(rank / 2, op=MPI.SUM)))           # the default op is SUM too

# Bitwise and logical operations: BOR of 1<<rank sets one bit per rank.
print("rank %d: allreduce BOR = %d, BAND = %d, LAND(rank < 100) = %s, LOR(rank == 1) = %s" % (
    rank,
    comm.allreduce(1 << rank, op=MPI.BOR),
    comm.allreduce(0b1111 ^ (1 << (rank % 4)), op=MPI.BAND),
    comm.allreduce(rank < 100, op=MPI.LAND),
    comm.allreduce(rank == 1, op=MPI.LOR)))

# MAXLOC / MINLOC on (value, location) pairs; on a tie the lowest location wins.
value = (rank * 5 + 2) % 7          # 2, 0, 5, 3, 1, 6, 4, 2 for ranks 0..7
best = comm.allreduce((value, rank), op=MPI.MAXLOC)
worst = comm.allreduce((value, rank), op=MPI.MINLOC)
tie = comm.allreduce((rank % 2, rank), op=MPI.MAXLOC)   # many ranks share the max
print("rank %d: my value %d; MAXLOC = %s, MINLOC = %s, MAXLOC with ties = %s"
      % (rank, value, best, worst, tie))

# Prefix reductions.
print("rank %d: scan SUM of rank+1 = %d" % (rank, comm.scan(rank + 1, op=MPI.SUM)))
before = comm.exscan(rank + 1, op=MPI.SUM)
# exscan has no value on rank 0: mpi4py returns None there.
print("rank %d: exscan SUM of rank+1 = %s" % (rank, before))
print("rank %d: scan MAX of (rank*5+2)%%7 = %d" % (rank, comm.scan(value, op=MPI.MAX)))

# --- upper-case: numpy arrays, combined element by element ---
mine = np.array([rank, rank * rank, 1, -rank], dtype=np.int64)
summed = np.zeros(4, dtype=np.int64) if rank == 0 else None
comm.Reduce([mine, MPI.INT64_T], [summed, MPI.INT64_T], op=MPI.SUM, root=0)
if rank == 0:
    print("rank 0: Reduce SUM of [r, r*r, 1, -r] = %s" % summed)

doubles = np.array([rank, -rank, 0.5 * rank], dtype=np.float64)
biggest = np.empty(3, dtype=np.float64)
comm.Allreduce(doubles, biggest, op=MPI.MAX)
smallest = np.empty(3, dtype=np.float64)
comm.Allreduce(doubles, smallest, op=MPI.MIN)
print("rank %d: Allreduce MAX = %s, MIN = %s" % (rank, biggest, smallest))

# MPI.IN_PLACE: the send buffer is also the receive buffer.
counts = np.array([1, rank], dtype=np.int32)
comm.Allreduce(MPI.IN_PLACE, counts, op=MPI.SUM)
print("rank %d: Allreduce IN_PLACE SUM of [1, r] = %s" % (rank, counts))

prefix = np.empty(2, dtype=np.int32)
comm.Scan(np.array([1, rank], dtype=np.int32), prefix, op=MPI.SUM)
print("rank %d: Scan SUM of [1, r] = %s" % (rank, prefix))
prefix = np.zeros(2, dtype=np.int32)
comm.Exscan(np.array([1, rank], dtype=np.int32), prefix, op=MPI.SUM)
if rank > 0:   # the receive buffer of rank 0 is left undefined by Exscan
    print("rank %d: Exscan SUM of [1, r] = %s" % (rank, prefix))

# Upper-case MAXLOC/MINLOC use pair datatypes: MPI.INT_INT is (int value, int location).
pairs = np.array([[value, rank], [-value, rank]], dtype=np.int32)
located = np.empty_like(pairs)
comm.Allreduce([pairs, MPI.INT_INT], [located, MPI.INT_INT], op=MPI.MAXLOC)
print("rank %d: Allreduce MAXLOC (value, rank) pairs = %s" % (rank, located.tolist()))
comm.Allreduce([pairs, MPI.INT_INT], [located, MPI.INT_INT], op=MPI.MINLOC)
print("rank %d: Allreduce MINLOC (value, rank) pairs = %s" % (rank, located.tolist()))


# --- a user-defined operation: element-wise maximum of absolute values ---
# MPI calls the function with two raw buffers and the datatype; it must combine
# "inbuf" into "inoutbuf" in place. It must be associative; commute=True says the
# order of the operands does not matter either.
def absmax(inbuf, inoutbuf, datatype):
    a = np.frombuffer(inbuf, dtype=np.int32)
    b = np.frombuffer(inoutbuf, dtype=np.int32)
    np.maximum(np.abs(a), np.abs(b), out=b)


ABSMAX = MPI.Op.Create(absmax, commute=True)
signed = np.array([rank - 3, 2 - 2 * rank, (-1) ** rank * rank], dtype=np.int32)
result = np.zeros(3, dtype=np.int32)
comm.Allreduce([signed, MPI.INT], [result, MPI.INT], op=ABSMAX)
print("rank %d: my values %s, user op ABSMAX over all ranks = %s" % (rank, signed, result))
result = np.zeros(3, dtype=np.int32)
comm.Reduce([signed, MPI.INT], [result, MPI.INT], op=ABSMAX, root=size - 1)
if rank == size - 1:
    print("rank %d: Reduce with ABSMAX to the last rank = %s" % (rank, result))
ABSMAX.Free()
