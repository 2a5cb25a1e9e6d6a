"""MPI.Message: what a matched probe (Comm.Mprobe/Improbe/mprobe/improbe) returns.

A matched probe claims the message it finds: the agent posts the probe's receive for
exactly that message as it answers (PROTOCOL.md, `probe` with `claim`), so no receive of
another thread can take it; a Message holds that receive until the script receives the
message through it.
"""

from ._channel import channel, wait_frames
from ._buffers import message
from ._errors import Exception as MPIException, ERR_ARG, ERR_TRUNCATE
from ._status import ANY_SOURCE, ANY_TAG, PROC_NULL
from ._request import Request, RecvRequest


class Message:
    """MPI.Message from Mprobe/Improbe: a posted receive for the probed message."""

    def __init__(self, message=None, _req=None, _status=None):
        noproc = False
        if isinstance(message, Message):
            _req, _status, noproc = message._req, message._status, message._noproc_flag
        self._req = _req
        self._status = _status
        self._noproc_flag = noproc

    @classmethod
    def _noproc(cls):
        m = cls()
        m._noproc_flag = True
        return m

    def __bool__(self):
        return self._req is not None or self._noproc_flag

    def __eq__(self, other):
        if not isinstance(other, Message):
            return NotImplemented
        return self is other or (not self and not other) or \
            (self._noproc_flag and other._noproc_flag) or \
            (self._req is not None and self._req is other._req)

    def __hash__(self):
        return id(self)

    def __reduce__(self):
        # mpi4py 4.x: MESSAGE_NULL/MESSAGE_NO_PROC pickle as themselves, a matched
        # message cannot be pickled
        from ._handles import reduce_handle
        return reduce_handle(self, globals(), ('MESSAGE_NULL', 'MESSAGE_NO_PROC'))

    def _take(self):
        req = self._req
        self._req = None
        if self is not MESSAGE_NO_PROC:     # the predefined handle survives a receive,
            self._noproc_flag = False       # as in mpi4py; copies of it become null
        return req

    def Recv(self, buf, status=None):
        noproc = self._noproc_flag
        req = self._take()
        if req is None:
            if status is not None:
                status._set(PROC_NULL if noproc else ANY_SOURCE, ANY_TAG, 0)
            return
        _copy_into(req, message(buf, False)[0], status)

    def Irecv(self, buf):
        self.Recv(buf)
        return Request()._local()

    def recv(self, status=None):
        noproc = self._noproc_flag
        req = self._take()
        if req is None:
            if status is not None:
                status._set(PROC_NULL if noproc else ANY_SOURCE, ANY_TAG, 0)
            return None
        return req.wait(status)

    def free(self):
        """mpi4py 4.x: release a null handle (what a received message is); a matched
        message cannot be dropped (MPI has no MPI_Message_free): receive it."""
        if self._req is not None:
            raise MPIException(ERR_ARG)
        self._take()

    def irecv(self):
        noproc = self._noproc_flag
        req = self._take()
        if req is None:
            return RecvRequest(None, True)._local(PROC_NULL if noproc else ANY_SOURCE,
                                                  ANY_TAG, 0)
        return req

    @classmethod
    def Probe(cls, comm, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return comm.Mprobe(source, tag, status)

    @classmethod
    def Iprobe(cls, comm, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return comm.Improbe(source, tag, status)

    @classmethod
    def probe(cls, comm, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return comm.mprobe(source, tag, status)

    @classmethod
    def iprobe(cls, comm, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return comm.improbe(source, tag, status)


Message.__module__ = 'mpi4py.MPI'
MESSAGE_NULL = Message()
MESSAGE_NO_PROC = Message._noproc()


def _copy_into(req, dst, status):
    """Message.Recv: the matched payload arrived in fresh memory; copy it into dst."""
    if not req._done:
        channel.complete([wait_frames([req._id], 'all')])
    req._active = False
    data, req._obj = req._obj, None
    n = req._count
    if status is not None:
        status._set(req._src, req._tag, min(n, len(dst)))
    if n > len(dst):
        dst[:] = data[:len(dst)]
        raise MPIException(ERR_TRUNCATE)
    dst[:n] = data
