# nonblocking.py - start communication now, wait for it later.
#
# A non-blocking call (isend, irecv, Isend, Irecv, Issend, Ibarrier, Iallreduce ...)
# returns a Request at once; the data must not be touched until the request is
# completed with Wait / Waitall / Test / Testany. Meanwhile the rank can compute.
#
#   1. lower-case isend/irecv of Python objects, completed with Request.waitall
#   2. upper-case Isend/Irecv of numpy arrays, completed with Request.Waitall + Status
#   3. Request.Testany: poll many receives and handle whichever finishes first
#   4. Issend: a synchronous send, complete only once the receiver has started receiving
#   5. Ibarrier and Iallreduce: non-blocking collectives
#
# Run:  mpiaas exec -n 4 examples/nonblocking.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
right = (rank + 1) % size
left = (rank - 1) % size

# --- 1. lower-case: talk to both neighbours at once ---
# Different tags keep "from my left" and "from my right" apart, even when left == right.
recv_requests = [comm.irecv(source=left, tag=1), comm.irecv(source=right, tag=2)]
send_requests = [comm.isend({"from": rank, "greeting": "hi right"}, dest=right, tag=1),
                 comm.isend({"from": rank, "greeting": "hi left"}, dest=left, tag=2)]
from_left, from_right = MPI.Request.waitall(recv_requests)   # returns the received objects
MPI.Request.waitall(send_requests)
print("rank %d: from the left %s, from the right %s" % (rank, from_left, from_right))

# --- 2. upper-case: numpy arrays, with a Status per request ---
outgoing = np.full(3, rank, dtype=np.int32)
incoming = np.zeros(3, dtype=np.int32)
requests = [comm.Irecv([incoming, MPI.INT], source=left, tag=3),
            comm.Isend([outgoing, MPI.INT], dest=right, tag=3)]
statuses = [MPI.Status(), MPI.Status()]
# ... a real program would compute here while the messages travel ...
MPI.Request.Waitall(requests, statuses)
print("rank %d: Irecv got %s from rank %d (tag %d, %d ints)" % (
    rank, incoming, statuses[0].Get_source(), statuses[0].Get_tag(),
    statuses[0].Get_count(MPI.INT)))

# --- 3. Testany: one receive from every rank, handled in whatever order they arrive ---
buffers = [np.zeros(2, dtype=np.int32) for _ in range(size)]
receives = [comm.Irecv(buffers[src], source=src, tag=4) for src in range(size)]
sends = [comm.Isend(np.array([rank, 100 * rank + dest], dtype=np.int32), dest=dest, tag=4)
         for dest in range(size)]
arrived = []
while True:
    index, flag = MPI.Request.Testany(receives)
    if not flag:
        continue                 # nothing finished yet: a real program would do work here
    if index == MPI.UNDEFINED:
        break                    # every request is complete (Testany set them to REQUEST_NULL)
    arrived.append(buffers[index].tolist())
MPI.Request.Waitall(sends)
# The arrival order changes from run to run, so we print the messages sorted.
print("rank %d: Testany saw %d message(s): %s; all requests now null: %s" % (
    rank, len(arrived), sorted(arrived), all(r == MPI.REQUEST_NULL for r in receives)))

# --- 4. Issend: synchronous mode ---
# An Issend request completes only after the matching receive has started, so when
# Wait returns we know the neighbour has the message.
token = np.array([rank * 11], dtype=np.int32)
got = np.zeros(1, dtype=np.int32)
request = comm.Issend(token, dest=right, tag=5)
comm.Recv(got, source=left, tag=5)
request.Wait()
print("rank %d: Issend to rank %d completed; Recv got %d from rank %d" % (rank, right, got[0], left))

# --- 5. non-blocking collectives ---
barrier = comm.Ibarrier()          # "I have arrived"; carry on until Wait
values = np.array([rank, 1, rank * rank], dtype=np.int64)
sums = np.zeros(3, dtype=np.int64)
reduction = comm.Iallreduce(values, sums, op=MPI.SUM)
MPI.Request.Waitall([barrier, reduction])
print("rank %d: Ibarrier done; Iallreduce SUM of [r, 1, r*r] = %s" % (rank, sums))
flag = reduction.Test()            # testing a completed (now null) request is fine
print("rank %d: Test() on the completed request says %s" % (rank, flag))
