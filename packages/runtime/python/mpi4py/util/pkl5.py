"""mpi4py.util.pkl5: lower-case communication with pickle protocol 5 out-of-band buffers.

mpi4py splits a pickle into a header and its large buffers and sends them as several MPI
messages, to get past MPI's 2 GiB count limit.  The shim has no such limit, so a pkl5
message here is ONE MPI message: a small header with the buffer lengths, the pickle
stream, then the out-of-band buffers back to back.  The API is mpi4py 3.1's: Pickle,
Request, Message, Comm/Intracomm/Intercomm with send/recv/isend/issend/ibsend/ssend/bsend,
sendrecv, mprobe/improbe, bcast (irecv is refused, as in mpi4py).
"""

import pickle as _stdpickle
import struct as _struct

from .. import MPI

_PROTOCOL = _stdpickle.HIGHEST_PROTOCOL
_THRESHOLD = 1024 ** 2 // 4     # buffers from 256 KiB go out of band, as mpi4py


class Pickle:
    """Pickle with protocol 5 out-of-band buffers: dumps -> (data, bufs)."""

    def __init__(self, dumps=_stdpickle.dumps, loads=_stdpickle.loads, protocol=None):
        self._dumps = dumps
        self._loads = loads
        self.PROTOCOL = _PROTOCOL if protocol is None else protocol
        self.THRESHOLD = _THRESHOLD

    def dumps(self, obj):
        protocol = self.PROTOCOL
        if protocol is None:
            protocol = MPI.pickle.PROTOCOL
        if protocol is None or protocol < 0:
            protocol = _PROTOCOL
        if protocol < 5:
            return self._dumps(obj, protocol), []
        bufs = []
        threshold = self.THRESHOLD

        def out_of_band(pb):
            raw = pb.raw()
            if raw.nbytes >= threshold:
                bufs.append(raw)
                return False
            return True
        return self._dumps(obj, protocol, buffer_callback=out_of_band), bufs

    def loads(self, data, bufs):
        return self._loads(data, buffers=bufs)

    # mpi4py 4.x: protocol 5 always, buffers from THRESHOLD bytes out of band
    def dumps_oob(self, obj):
        protocol = self.PROTOCOL
        if protocol is None or protocol < 0:
            protocol = _PROTOCOL
        bufs, threshold = [], self.THRESHOLD

        def out_of_band(pb):
            raw = pb.raw()
            if raw.nbytes >= threshold:
                bufs.append(raw)
                return False
            return True
        return self._dumps(obj, max(protocol, 5), buffer_callback=out_of_band), bufs

    def loads_oob(self, data, bufs):
        return self._loads(data, buffers=bufs)

    @property
    def THRESHOLD(self):
        return self._threshold

    @THRESHOLD.setter
    def THRESHOLD(self, threshold):
        self._threshold = _THRESHOLD if threshold is None else threshold


pickle = Pickle()


class _BigMPI:
    """Kept for API compatibility: there is no count limit to split messages around."""

    def __init__(self):
        self.blocksize = 1 << 30
        self.cache = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cache.clear()


_bigmpi = _BigMPI()

# -- one message: u32 nbufs | u64 len(data) | u64 len(buf)... | data | bufs ---------------


def _frame(obj):
    data, bufs = pickle.dumps(obj)
    head = _struct.pack('<IQ%dQ' % len(bufs), len(bufs), len(data), *[b.nbytes for b in bufs])
    return b''.join([head, data] + [b.cast('B') if b.format != 'B' else b for b in bufs])


def _unframe(frame):
    mv = memoryview(frame)
    nbufs, ndata = _struct.unpack_from('<IQ', mv, 0)
    at = 12
    lens = _struct.unpack_from('<%dQ' % nbufs, mv, at)
    at += 8 * nbufs
    data = mv[at:at + ndata]
    at += ndata
    bufs = []
    for n in lens:
        bufs.append(mv[at:at + n])
        at += n
    return pickle.loads(data, bufs)


def _recv_frame(message, status):
    """Receive a probed message (an MPI.Message) into fresh memory of its size."""
    st = MPI.Status()
    buf = bytearray(message._status._count if message._status is not None else 0)
    message.Recv([buf, MPI.BYTE], st)
    if status is not None:
        status.source, status.tag, status.error = st.source, st.tag, st.error
        status._count = st._count
    if st.source == MPI.PROC_NULL:
        return None
    return _unframe(buf)


# -- requests and messages -----------------------------------------------------------------

class Request(tuple):
    """A pkl5 request: the MPI request(s) behind one pkl5 operation."""

    def __new__(cls, request=None):
        if request is None:
            request = (MPI.REQUEST_NULL,)
        elif isinstance(request, MPI.Request):
            request = (request,)
        self = tuple.__new__(cls, request)
        self._load = getattr(request, '_load', None)
        return self

    def __eq__(self, other):
        if isinstance(other, MPI.Request):
            other = Request(other)
        if isinstance(other, Request):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = tuple.__hash__

    def __bool__(self):
        return any(self)

    def Free(self):
        for req in self:
            req.Free()

    def free(self):
        for req in self:
            req.free()

    def cancel(self):
        for req in self:
            req.Cancel()

    def get_status(self, status=None):
        return all(req.Get_status(status) for req in self)

    def _value(self):
        load, self._load = self._load, None
        return load() if load is not None else None

    def test(self, status=None):
        if not MPI.Request.Testall(list(self), _statuses(status, len(self))):
            return (False, None)
        return (True, self._value())

    def wait(self, status=None):
        MPI.Request.Waitall(list(self), _statuses(status, len(self)))
        return self._value()

    @classmethod
    def testall(cls, requests, statuses=None):
        flat = [r for req in requests for r in req]
        if not MPI.Request.Testall(flat, statuses):
            return (False, None)
        return (True, [req._value() for req in requests])

    @classmethod
    def waitall(cls, requests, statuses=None):
        MPI.Request.Waitall([r for req in requests for r in req], statuses)
        return [req._value() for req in requests]

    # mpi4py 4.x: statuses of many requests without completing them
    @classmethod
    def get_status_all(cls, requests, statuses=None):
        return MPI.Request.Get_status_all([r for req in requests for r in req], statuses)

    @classmethod
    def get_status_any(cls, requests, status=None):
        for i, req in enumerate(requests):
            if any(req) and req.get_status(status):
                return (i, True)
        if not any(any(req) for req in requests):
            return (MPI.UNDEFINED, True)
        return (MPI.UNDEFINED, False)

    @classmethod
    def get_status_some(cls, requests, statuses=None):
        if not any(any(req) for req in requests):
            return None
        done = [i for i, req in enumerate(requests) if any(req) and req.get_status()]
        if statuses is not None:
            while len(statuses) < len(done):
                statuses.append(MPI.Status())
            for k, i in enumerate(done):
                requests[i].get_status(statuses[k])
        return done


def _statuses(status, n):
    return None if status is None else [status] * n


class Message(tuple):
    """A pkl5 matched message (from mprobe/improbe)."""

    def free(self):
        for message in self:
            message.free()

    def __new__(cls, message=None):
        if message is None:
            message = (MPI.MESSAGE_NULL,)
        elif isinstance(message, MPI.Message):
            message = (message,)
        return tuple.__new__(cls, message)

    def __eq__(self, other):
        if isinstance(other, MPI.Message):
            other = Message(other)
        if isinstance(other, Message):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = tuple.__hash__

    def __bool__(self):
        return any(self)

    def recv(self, status=None):
        return _recv_frame(self[0], status)

    def irecv(self):
        # the message is already matched: receive it now, hand the value out on wait
        st = MPI.Status()
        obj = _recv_frame(self[0], st)
        req = MPI.Request()._local(st.source, st.tag, st._count)
        request = Request(req)
        request._load = lambda: obj
        return request

    @classmethod
    def probe(cls, comm, source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=None):
        return cls(MPI.Comm.Mprobe(comm, source, tag, _probed(status)))

    @classmethod
    def iprobe(cls, comm, source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=None):
        message = MPI.Comm.Improbe(comm, source, tag, _probed(status))
        return None if message is None else cls(message)


def _probed(status):
    return status if status is not None else MPI.Status()


# -- communicators -----------------------------------------------------------------------

class Comm(MPI.Comm):
    """Communicator whose lower-case point-to-point calls use pkl5 messages."""

    def send(self, obj, dest, tag=0):
        self.Send([_frame(obj), MPI.BYTE], dest, tag)

    def bsend(self, obj, dest, tag=0):
        self.Bsend([_frame(obj), MPI.BYTE], dest, tag)

    def ssend(self, obj, dest, tag=0):
        self.Ssend([_frame(obj), MPI.BYTE], dest, tag)

    def isend(self, obj, dest, tag=0):
        return Request(self.Isend([_frame(obj), MPI.BYTE], dest, tag))

    def ibsend(self, obj, dest, tag=0):
        return Request(self.Ibsend([_frame(obj), MPI.BYTE], dest, tag))

    def issend(self, obj, dest, tag=0):
        return Request(self.Issend([_frame(obj), MPI.BYTE], dest, tag))

    def recv(self, buf=None, source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=None):
        return Message.probe(self, source, tag).recv(status)

    def irecv(self, buf=None, source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG):
        raise RuntimeError('unsupported')

    def sendrecv(self, sendobj, dest, sendtag=0, recvbuf=None, source=MPI.ANY_SOURCE,
                 recvtag=MPI.ANY_TAG, status=None):
        request = self.isend(sendobj, dest, sendtag)
        try:
            return self.recv(recvbuf, source, recvtag, status)
        finally:
            request.wait()

    def mprobe(self, source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=None):
        return Message.probe(self, source, tag, status)

    def improbe(self, source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=None):
        return Message.iprobe(self, source, tag, status)

    def bcast(self, obj, root=0):
        frame = MPI.Comm.bcast(self, _frame(obj) if self.Get_rank() == root else None, root)
        return _unframe(frame)


class Intracomm(Comm, MPI.Intracomm):
    """Intracommunicator with pkl5 lower-case point-to-point calls."""


class Intercomm(Comm, MPI.Intercomm):
    """Intercommunicator with pkl5 calls (intercommunicators are not provided by mpiaas)."""
