# sendrecv.py - combined send+receive, and receiving messages you did not expect.
#
#   sendrecv / Sendrecv  : send to one rank and receive from another in one call,
#                          which can never deadlock (unlike Send then Recv on a ring)
#   Sendrecv_replace     : the same, reusing one buffer for outgoing and incoming data
#   probe / Probe        : wait for a message and look at its Status (source, tag,
#                          size) before receiving it - e.g. to allocate a buffer
#   iprobe / Iprobe      : the non-blocking check "is there a message for me?"
#   MPI.ANY_SOURCE / MPI.ANY_TAG : wildcards that match any sender / any tag
#
# Run:  mpiaas exec -n 4 examples/sendrecv.py

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
size = comm.Get_size()
right = (rank + 1) % size
left = (rank - 1) % size

# --- lower-case sendrecv: shift a Python object one step to the right ---
got = comm.sendrecv({"owner": rank, "items": list(range(rank))},
                    dest=right, sendtag=1, source=left, recvtag=1)
print("rank %d: sendrecv got %s" % (rank, got))

# --- upper-case Sendrecv with a Status ---
status = MPI.Status()
outgoing = np.array([rank, rank * 1.5], dtype=np.float64)
incoming = np.zeros(2, dtype=np.float64)
comm.Sendrecv(outgoing, dest=left, sendtag=2, recvbuf=incoming, source=right, recvtag=2,
              status=status)
print("rank %d: Sendrecv got %s from rank %d, tag %d, %d doubles" % (
    rank, incoming, status.Get_source(), status.Get_tag(), status.Get_count(MPI.DOUBLE)))

# --- Sendrecv_replace: one buffer, sent to the right then overwritten from the left ---
buf = np.array([rank] * 3, dtype=np.int32)
comm.Sendrecv_replace(buf, dest=right, sendtag=3, source=left, recvtag=3)
print("rank %d: Sendrecv_replace buffer is now %s" % (rank, buf))

# --- Probe with wildcards: every rank sends rank 0 an array of rank+1 ints ---
# Rank 0 does not know the sizes in advance: it probes, reads the Status, allocates
# a buffer of the right size, then receives exactly that message.
request = comm.Isend(np.arange(rank + 1, dtype=np.int32) + 10 * rank, dest=0, tag=100 + rank)
if rank == 0:
    received = []
    for _ in range(size):
        comm.Probe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
        count = status.Get_count(MPI.INT)
        data = np.empty(count, dtype=np.int32)
        comm.Recv(data, source=status.Get_source(), tag=status.Get_tag())
        received.append((status.Get_source(), status.Get_tag(), count, data.tolist()))
    # Messages from different senders arrive in any order: sort before printing.
    for source, tag, count, data in sorted(received):
        print("rank 0: probed a message from rank %d, tag %d, %d ints: %s"
              % (source, tag, count, data))
request.Wait()

# --- iprobe + recv with ANY_SOURCE / ANY_TAG (lower-case, to the last rank) ---
last = size - 1
request = comm.isend("note from rank %d" % rank, dest=last, tag=rank % 3)
if rank == last:
    notes = []
    while len(notes) < size:
        if comm.iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            # status now describes the waiting message; receive exactly that one
            note = comm.recv(source=status.Get_source(), tag=status.Get_tag())
            notes.append((status.Get_source(), status.Get_tag(), note))
        # else: nothing waiting yet - a real program would do useful work here
    for source, tag, note in sorted(notes):
        print("rank %d: iprobe found %r from rank %d with tag %d" % (rank, note, source, tag))
request.wait()

# --- recv(ANY_SOURCE, ANY_TAG) fills a Status with who actually sent it ---
comm.Barrier()   # keep these messages apart from the ones above, just to be tidy
if rank != 0:
    comm.send(rank * rank, dest=0, tag=7)
else:
    squares = {}
    for _ in range(size - 1):
        value = comm.recv(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
        squares[status.source] = (value, status.tag)   # .source/.tag are properties too
    print("rank 0: received (value, tag) by sender: %s" % dict(sorted(squares.items())))
