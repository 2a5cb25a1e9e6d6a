"""Neighbourhood collectives (MPI_Neighbor_allgather/alltoall and their v, w and
non-blocking forms, and mpi4py's lower-case neighbor_allgather/alltoall) of topology
communicators: each rank sends a block to each of its out-neighbours and receives one from
each of its in-neighbours.

They ride on one agent alltoall over the whole communicator (a neighbourhood collective is
collective over it anyway): the part for rank j is every block this rank sends to j, in its
out-edge order, behind a small table of their lengths; a rank that is no neighbour gets an
empty part. So one round trip, whatever the degree, and nothing to match by tag against the
user's own point-to-point traffic on the communicator.

A rank that is several of our neighbours (a periodic dimension of 1 or 2 processes, a graph
with repeated edges) sends several blocks in one part; which in-edge slot each lands in is
the topology's business (`_arrival_slots`): in a Cartesian grid the block sent towards +1
of a dimension lands in the receiver's -1 slot, in a graph the k-th edge i->r in the k-th
occurrence of i among r's sources.
"""

from _struct import Struct, pack, unpack     # not struct: one module less at a rank's start

from ._buffers import message, message_w_slots
from ._collective_results import bad_counts
from ._derived import drop_owed
from ._errors import Exception as MPIException, ERR_TRUNCATE
from ._pickle import pickle as _PICKLE
from ._request import _unpickle
from ._status import PROC_NULL

_U32 = Struct('<I')


def _table(lengths):
    return pack('<%dI' % (len(lengths) + 1), len(lengths), *lengths)


def _read_table(ch):
    """The lengths of the blocks in a part, from the table _table wrote before them."""
    k = _U32.unpack(ch.read(4))[0]
    return unpack('<%dI' % k, ch.read(4 * k)) if k else ()


class NeighborCollectives:
    """The neighbourhood collectives of MPI.Topocomm. Needs of the class: `_size`, `_coll`,
    `_slots` (_comm.Comm) and, from the topology, `_in_out()` -> (in-edges, out-edges) and
    `_arrival_slots(source)` -> the in-edge slots source's blocks land in, in order."""

    def _arrivals(self):
        table = self.__dict__.get('_arrivals_table')
        if table is None:
            sources = set(r for r in self._in_out()[0] if r != PROC_NULL)
            table = self._arrivals_table = {i: self._arrival_slots(i) for i in sources}
        return table

    def _parts(self, blocks):
        """blocks[k]: what goes to out-edge k. One part per rank of the communicator."""
        per_rank = [[] for _ in range(self._size)]
        for dest, block in zip(self._in_out()[1], blocks):
            if dest != PROC_NULL:
                per_rank[dest].append(block)
        parts = []
        for mine in per_rank:
            if not mine:
                parts.append(b'')
            else:
                parts.append(b''.join([_table([len(b) for b in mine])] + mine))
        return parts

    def _exchange(self, sblocks, rslots, block):
        """Blocks sblocks (per out-edge) out, into the writable views rslots (per in-edge)."""
        arrivals = self._arrivals()

        def handler(counts, ch):
            truncated = False
            for source, n in enumerate(counts):
                if not n:
                    continue
                slots = arrivals.get(source, ())
                for index, length in enumerate(_read_table(ch)):
                    dst = rslots[slots[index]] if index < len(slots) else None
                    if dst is None or length > len(dst):
                        if dst is not None:
                            ch.readinto(dst)
                            length -= len(dst)
                        ch.skip(length)
                        truncated = True
                    elif length:
                        ch.readinto(dst[:length] if length < len(dst) else dst)
            if truncated:
                raise MPIException(ERR_TRUNCATE)
        return self._coll(b'alltoall', None, self._parts(sblocks), handler, block)

    # -- buffers ----------------------------------------------------------------------
    def _neighbor_allgather(self, sendbuf, recvbuf, block, vector):
        rslots = self._slots(recvbuf, False, vector, len(self._in_out()[0]))
        try:
            smv = message(sendbuf, True)[0]
        except BaseException:
            drop_owed()
            raise
        if not vector:
            for dst in rslots:
                if len(dst) != len(smv):
                    bad_counts(len(smv), len(dst))
        return self._exchange([smv] * len(self._in_out()[1]), rslots, block)

    def _neighbor_alltoall(self, sendbuf, recvbuf, block, vector):
        indegree, outdegree = (len(edges) for edges in self._in_out())
        rslots = self._slots(recvbuf, False, vector, indegree)
        try:
            sslots = self._slots(sendbuf, True, vector, outdegree)
        except BaseException:
            drop_owed()
            raise
        return self._exchange(sslots, rslots, block)

    def _neighbor_alltoallw(self, sendbuf, recvbuf, block):
        indegree, outdegree = (len(edges) for edges in self._in_out())
        rslots = message_w_slots(recvbuf, False, indegree) if indegree else []
        try:
            sslots = message_w_slots(sendbuf, True, outdegree) if outdegree else []
        except BaseException:
            drop_owed()
            raise
        return self._exchange(sslots, rslots, block)

    def Neighbor_allgather(self, sendbuf, recvbuf):
        self._neighbor_allgather(sendbuf, recvbuf, True, False)

    def Ineighbor_allgather(self, sendbuf, recvbuf):
        return self._neighbor_allgather(sendbuf, recvbuf, False, False)

    def Neighbor_allgatherv(self, sendbuf, recvbuf):
        self._neighbor_allgather(sendbuf, recvbuf, True, True)

    def Ineighbor_allgatherv(self, sendbuf, recvbuf):
        return self._neighbor_allgather(sendbuf, recvbuf, False, True)

    def Neighbor_alltoall(self, sendbuf, recvbuf):
        self._neighbor_alltoall(sendbuf, recvbuf, True, False)

    def Ineighbor_alltoall(self, sendbuf, recvbuf):
        return self._neighbor_alltoall(sendbuf, recvbuf, False, False)

    def Neighbor_alltoallv(self, sendbuf, recvbuf):
        self._neighbor_alltoall(sendbuf, recvbuf, True, True)

    def Ineighbor_alltoallv(self, sendbuf, recvbuf):
        return self._neighbor_alltoall(sendbuf, recvbuf, False, True)

    def Neighbor_alltoallw(self, sendbuf, recvbuf):
        self._neighbor_alltoallw(sendbuf, recvbuf, True)

    def Ineighbor_alltoallw(self, sendbuf, recvbuf):
        return self._neighbor_alltoallw(sendbuf, recvbuf, False)

    # -- Python objects ---------------------------------------------------------------
    def _neighbor_objects(self, objects):
        """objects[k] to out-edge k; the list of what each in-edge got (None from
        PROC_NULL), as mpi4py's lower-case calls return it."""
        inedges = self._in_out()[0]
        received = [None] * len(inedges)
        arrivals = self._arrivals()

        def handler(counts, ch):
            for source, n in enumerate(counts):
                if not n:
                    continue
                slots = arrivals.get(source, ())
                for index, length in enumerate(_read_table(ch)):
                    data = ch.read(length)
                    if index < len(slots):
                        received[slots[index]] = _unpickle(data)
            return received
        blocks = [_PICKLE.dumps(obj) for obj in objects]
        return self._coll(b'alltoall', None, self._parts(blocks), handler, True)

    def neighbor_allgather(self, sendobj):
        self._chk()
        return self._neighbor_objects([sendobj] * len(self._in_out()[1]))

    def neighbor_alltoall(self, sendobj):
        self._chk()
        outdegree = len(self._in_out()[1])
        objects = [None] * outdegree if sendobj is None else list(sendobj)
        if len(objects) != outdegree:
            raise ValueError('expecting %d items, got %d' % (outdegree, len(objects)))
        return self._neighbor_objects(objects)
