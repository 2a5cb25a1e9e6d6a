"""Communicators: point-to-point and collective operations over the agent.

A communicator is a context id (`ctx`, its own message space at the agent) plus the list
of COMM_WORLD ranks of its members.  Request headers are %-formatted from byte templates
precomputed per communicator; the agent only moves bytes, so everything MPI-typed
(datatypes, reductions, in-place variants) is resolved here.
"""

from _thread import allocate_lock

from ._channel import channel, frame, _pack_ii, _WAIT_ONE
from ._buffers import (message, message_vector, message_w_slots, has_derived, _is_integral,
                       IN_PLACE, BUFFER_AUTOMATIC)
from ._errors import (Exception as MPIException, ERR_RANK, ERR_TAG, ERR_ROOT, ERR_COMM,
                      ERR_ARG, ERR_OP, ERR_KEYVAL)
from ._status import Status, ANY_SOURCE, ANY_TAG, PROC_NULL, UNDEFINED
from ._request import Request, RecvRequest, SyncSendRequest, CollRequest, Prequest, _unpickle
from ._ops import SUM, fold_objects
from ._group import Group, IDENT, CONGRUENT, SIMILAR, UNEQUAL
from ._unsupported import unsupported, _stub
from ._pickle import pickle as _PICKLE
from ._derived import drop_owed, take_owed
from ._callsite import call_site as _call_site
from ._agent_fold import fold_field
from ._message import Message
from ._collective_results import (discard, load_one, load_all, into_one, into_slots,
                                  fold_into, bad_counts, shared_or)
from ._topology import CartTopology, cart_shape, sub_grid, cart_map
from ._graphs import (GraphTopology, DistGraphTopology, graph_shape, graph_map,
                      adjacent_edges, dist_graph_weights, specified_edges, my_dist_graph)
from ._neighbors import NeighborCollectives
from ._intercomm import RemoteGroup
from ._persistent import persistent
from ._attributes import Keyvals
from . import _warm_modules
from ._shm_collectives import CAPACITY as _SHM_CAPACITY, Parts as _Parts, enabled as _shm_enabled, \
    segment_for as _shm_segment_for, forget as _shm_forget, BARRIER as _SHM_BARRIER, \
    ALLREDUCE as _SHM_ALLREDUCE, SCAN as _SHM_SCAN, EXSCAN as _SHM_EXSCAN, BCAST as _SHM_BCAST, \
    OBJ_BCAST as _SHM_OBJ_BCAST, OBJ_ALLGATHER as _SHM_OBJ_ALLGATHER, REDUCE as _SHM_REDUCE, \
    GATHER as _SHM_GATHER, SCATTER as _SHM_SCATTER, ALLGATHER as _SHM_ALLGATHER, \
    ALLTOALL as _SHM_ALLTOALL

TAG_UB = 2147483647     # attribute value (Open MPI's)
ROOT = -4
_KEYVAL_INVALID = -1
_KEYVALS = Keyvals(100)     # communicator keyvals (the predefined ones are 0..6)
_group_counts = {}      # (tag, ranks) -> Create_group calls so far: a fresh ctx each
_handles = []           # [py2f's integers -> their communicators], made at the first py2f


def _pickle(obj):
    # through MPI.pickle, so a script's own serializer (MPI.pickle.__init__) is used
    return _PICKLE.dumps(obj)


def _pickle_target(buf):
    """Where a lower-case receive puts the pickle: fresh memory (None), a new buffer of
    that many bytes (an int, as mpi4py allows), or the user's buffer."""
    if buf is None:
        return None
    if _is_integral(buf):
        return memoryview(bytearray(buf.__index__()))
    return message(buf, False)[0]


def _warn_buffer_argument():
    """mpi4py 4.x warns that recv's and sendrecv's buffer argument is deprecated (the
    caller's line named, as there); 3.1.4 does not (_api_release)."""
    from ._api_release import is_4x
    if not is_4x():
        return
    import sys
    import warnings
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get('__name__', '').startswith('mpi4py.'):
        frame, level = frame.f_back, level + 1      # past the shim's frames (locks...)
    warnings.warn("the 'buf' argument is deprecated", UserWarning, stacklevel=level)


def _part_of(data, index, count):
    """Part `index` of `count` equal parts of data (an entry of a Scatter or an Alltoall met
    in shared memory: every part, back to back)."""
    n = len(data) // count
    return data[index * n:(index + 1) * n]


# _shared_memory.MIN_BYTES: a smaller bcast never imports it (nor does a rank's start-up)
_SHARED_FROM = 256 << 10


def _bcast_ref(group, data):
    """The reference a bcast root contributes instead of `data` when the other members
    of `group` can read it from a file (_shared_memory), or None."""
    if len(data) < _SHARED_FROM:
        return None
    from ._shared_memory import offer
    return offer([r for r in group if r != world_rank], data)


def _message_ref(to, data):
    """The reference sent instead of the message `data` when world rank `to` can read it
    from a file, or None."""
    if len(data) < _SHARED_FROM:
        return None
    from ._shared_memory import offer
    return offer((to,), data)


def _in_place(buf):
    return buf is None or buf is IN_PLACE


def _bad(errorclass):
    drop_owed()     # a derived-type receive parsed before the error will never complete
    raise MPIException(errorclass)


class Comm:
    """MPI.Comm (base of Intracomm)."""

    def __new__(cls, comm=None):
        # the copy happens in __new__, as in mpi4py, so a subclass can be made from a
        # communicator with `MPI.Intracomm.__new__(cls, comm)` and define its own __init__
        self = object.__new__(cls)
        if isinstance(comm, Comm):
            if comm._ctx is not None and not isinstance(comm, cls._made_from):
                # a topology class from a communicator without that topology (mpi4py)
                raise TypeError('expecting a %s communicator, not %s'
                                % (cls._made_from.__name__, type(comm).__name__))
            self.__dict__.update(comm.__dict__)
        elif comm is not None:
            raise TypeError('expecting a communicator, not %s' % type(comm).__name__)
        else:
            self._ctx = None
            self._rank = UNDEFINED
            self._size = UNDEFINED
            self._group = ()
            self._kids = None
            self._name = ['MPI_COMM_NULL']
            self._attrs = None
        return self

    def __init__(self, comm=None):
        pass

    def _setup(self, ctx, group, myworld, name=''):
        """Attach to context ctx with members group (COMM_WORLD ranks)."""
        self._ctx = ctx
        self._group = tuple(group)
        self._size = len(group)
        self._rank = self._group.index(myworld)
        self._kids = [0]            # communicators created from this one (shared by copies)
        self._name = [name]
        self._attrs = {}
        self._locks = {}            # lower-case call -> its lock (shared by copies)
        c = ctx.encode()
        self._t_send = b'{"op":"send","ctx":"' + c + b'","dest":%d,"tag":%d}'
        self._t_isend = b'{"op":"isend","req":%d,"ctx":"' + c + b'","dest":%d,"tag":%d,"sync":true}'
        self._t_irecv = b'{"op":"irecv","req":%d,"ctx":"' + c + b'","source":%d,"tag":%d}'
        self._t_probe = b'{"op":"probe","ctx":"' + c + b'","source":%d,"tag":%d,"block":%s}'
        self._t_mprobe = b'{"op":"probe","ctx":"' + c + b'","source":%d,"tag":%d,"block":%s,"claim":%d}'
        self._t_coll = b'{"op":"icoll","req":%d,"ctx":"' + c + b'","coll":"%s","parts":[%s]}'
        self._t_rcoll = (b'{"op":"icoll","req":%d,"ctx":"' + c +
                         b'","coll":"%s","root":%d,"parts":[%s]}')
        return self

    # -- identity ---------------------------------------------------------------------
    def __eq__(self, other):
        if not isinstance(other, Comm):
            return NotImplemented
        return self._ctx == other._ctx

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(self._ctx)

    def __bool__(self):
        return self._ctx is not None

    def _chk(self):
        if self._ctx is None:
            raise MPIException(ERR_COMM)

    def Get_rank(self):
        self._chk()
        return self._rank

    def Get_size(self):
        self._chk()
        return self._size

    rank = property(Get_rank)
    size = property(Get_size)

    def Get_group(self):
        self._chk()
        return Group(_ranks=self._group, _me=world_rank)

    group = property(Get_group)

    def Get_name(self):
        return self._name[0] if self._ctx is not None else 'MPI_COMM_NULL'

    def Set_name(self, name):
        self._name[0] = str(name)

    name = property(Get_name, Set_name)

    def Is_inter(self):
        self._chk()
        return False

    def Is_intra(self):
        self._chk()
        return True

    is_inter = property(Is_inter)
    is_intra = property(Is_intra)

    def Get_topology(self):
        self._chk()
        return UNDEFINED

    topology = property(lambda self: self.Get_topology())
    is_topo = property(lambda self: self.Get_topology() != UNDEFINED)

    def Compare(comm1, comm2):
        # an instance method, as in mpi4py 4.x: comm.Compare(other) and
        # MPI.Comm.Compare(comm, other) (3.1.4's form) both work
        comm1._chk()
        comm2._chk()
        if comm1._ctx == comm2._ctx:
            return IDENT
        if comm1._group == comm2._group:
            return CONGRUENT
        if set(comm1._group) == set(comm2._group):
            return SIMILAR
        return UNEQUAL

    @classmethod
    def Get_parent(cls):
        # no spawn, so never a parent: the null intercommunicator (mpi4py 4.x returns an
        # Intercomm; 3.1.4 only asked for a communicator)
        return Intercomm()

    def __reduce__(self):
        # mpi4py 4.x: COMM_NULL/SELF/WORLD pickle as themselves, others cannot be pickled
        from ._handles import reduce_handle
        return reduce_handle(self, globals(), ('COMM_NULL', 'COMM_WORLD', 'COMM_SELF'))

    def py2f(self):
        handle = hash(self._ctx) & 0x7fffffff
        if self._ctx is not None:
            if not _handles:
                import weakref      # here, not at import: a rank's start does without it
                _handles.append(weakref.WeakValueDictionary())
            _handles[0][handle] = self
        return handle

    toint = py2f

    @classmethod
    def f2py(cls, arg):
        """The communicator py2f gave `arg` for, as a new object of its own class."""
        comm = _handles[0].get(arg) if _handles else None
        return cls() if comm is None else type(comm)(comm)

    fromint = f2py

    # -- attributes -------------------------------------------------------------------
    def Get_attr(self, keyval):
        self._chk()
        if keyval == _KEYVAL_INVALID:
            _bad(ERR_KEYVAL)
        if keyval == 0:             # TAG_UB
            return TAG_UB
        if keyval == 1:             # HOST
            return PROC_NULL
        if keyval == 2:             # IO
            return ANY_SOURCE
        if keyval == 3:             # WTIME_IS_GLOBAL
            return 0
        if keyval == 4:             # APPNUM
            return 0
        if keyval == 5:             # LASTUSEDCODE
            from ._errors import _last_used
            return _last_used[0]
        if keyval == 6:             # UNIVERSE_SIZE
            return world_size
        return self._attrs.get(keyval)

    def Set_attr(self, keyval, attrval):
        self._chk()
        _KEYVALS.set(self, self._attrs, keyval, attrval)

    def Delete_attr(self, keyval):
        self._chk()
        _KEYVALS.delete(self, self._attrs, keyval)

    @classmethod
    def Create_keyval(cls, copy_fn=None, delete_fn=None, nopython=False):
        return _KEYVALS.create(copy_fn, delete_fn)

    @classmethod
    def Free_keyval(cls, keyval):
        return -1

    def Get_info(self):
        from ._info import Info
        return Info.Create()

    def Set_info(self, info):
        pass

    info = property(Get_info, Set_info)

    # -- attached buffer (MPI 4.1 per-communicator Bsend buffer): kept and handed back;
    # a Bsend here is sent eagerly, so it never needs the space --------------------------
    def Attach_buffer(self, buf):
        self._chk()
        self.__dict__['_bsend_buffer'] = buf

    def Detach_buffer(self):
        self._chk()
        buf = self.__dict__.pop('_bsend_buffer', None)
        return BUFFER_AUTOMATIC if buf is None else buf

    def Flush_buffer(self):
        self._chk()

    def Iflush_buffer(self):
        self._chk()
        return Request()._local()

    def Get_errhandler(self):
        # a new handle each time (the caller may Free it), as MPI_Comm_get_errhandler
        from ._env import Errhandler
        self._chk()
        return Errhandler(self.__dict__.get('_errhandler', 'ERRORS_RETURN'))

    def Set_errhandler(self, errhandler):
        # errors are always raised as MPI.Exception here (mpi4py's default, ERRORS_RETURN);
        # the name is kept so Get_errhandler answers what was set
        self._chk()
        if not errhandler:
            _bad(ERR_ARG)
        self._errhandler = errhandler._name

    def Call_errhandler(self, errorcode):
        raise MPIException(errorcode)

    # -- checks -----------------------------------------------------------------------
    def _dest(self, dest):
        if dest < 0 or dest >= self._size:
            if self._ctx is None:
                _bad(ERR_COMM)
            _bad(ERR_RANK)

    def _src(self, source):
        if (source < 0 or source >= self._size) and source != ANY_SOURCE:
            if self._ctx is None:
                _bad(ERR_COMM)
            _bad(ERR_RANK)

    def _root(self, root):
        if self._ctx is None:
            _bad(ERR_COMM)
        if root < 0 or root >= self._size:
            _bad(ERR_ROOT)

    # -- point to point: internals ------------------------------------------------------
    def _send(self, mv, dest, tag):
        if tag < 0 or tag > TAG_UB:
            _bad(ERR_TAG)
        channel.write(self._send_frame(self._t_send % (dest, tag), mv, dest))

    def _isend_sync(self, mv, dest, tag, req):
        if tag < 0 or tag > TAG_UB:
            _bad(ERR_TAG)
        n = req._post()
        return self._send_frame(self._t_isend % (n, dest, tag), mv, dest)

    def _recv_args(self, source, tag):
        """A combined send-receive checks its receive first: a send through a file is
        written as its frame is made, and must not be left behind by a bad receive."""
        self._src(source)
        if tag < ANY_TAG or tag > TAG_UB:
            _bad(ERR_TAG)

    def _send_frame(self, h, mv, dest):
        """A send's frame (header h, then the message), or, when the destination can read
        it from a file (_shared_memory), the header with the message's size and a reference."""
        ref = _message_ref(self._group[dest], mv)
        if ref is not None:
            h = b'%s,"shm":%d}' % (h[:-1], len(mv))
            mv = ref
        channel.payload_sent += len(mv)
        return [_pack_ii(4 + len(h) + len(mv), len(h)) + h, mv]

    def _irecv(self, req, source, tag):
        if tag < ANY_TAG or tag > TAG_UB:
            _bad(ERR_TAG)
        n = req._post()
        return frame(self._t_irecv % (n, source, tag))

    def _recv(self, req, source, tag, status, extra=None):
        """Blocking receive: irecv + wait written together; returns the finished value."""
        if source == PROC_NULL:
            if status is not None:
                status._set(PROC_NULL, ANY_TAG, 0)
            if extra:
                channel.write(extra)
            return None
        self._src(source)
        f = self._irecv(req, source, tag) + frame(_WAIT_ONE % req._id)
        if extra:
            extra.append(f)
            channel.complete(extra)
        else:
            channel.complete([f])
        return req._result(req._finish(status))

    # -- point to point: buffers ------------------------------------------------------
    def Send(self, buf, dest, tag=0):
        if dest == PROC_NULL:
            return
        self._dest(dest)
        self._send(message(buf, True)[0], dest, tag)

    Bsend = Send
    Rsend = Send

    def Ssend(self, buf, dest, tag=0):
        if dest == PROC_NULL:
            return
        self._dest(dest)
        req = SyncSendRequest()
        bufs = self._isend_sync(message(buf, True)[0], dest, tag, req)
        bufs.append(frame(_WAIT_ONE % req._id))
        channel.complete(bufs)
        req._finish(None)

    def Recv(self, buf, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        if source == PROC_NULL:
            if status is not None:
                status._set(PROC_NULL, ANY_TAG, 0)
            return
        mv = message(buf, False)[0]
        self._recv(RecvRequest(mv), source, tag, status)

    def Isend(self, buf, dest, tag=0):
        if dest != PROC_NULL:
            self._dest(dest)
            self._send(message(buf, True)[0], dest, tag)
        return Request()._local()

    Ibsend = Isend
    Irsend = Isend

    def Issend(self, buf, dest, tag=0):
        if dest == PROC_NULL:
            return Request()._local()
        self._dest(dest)
        req = SyncSendRequest()
        channel.write(self._isend_sync(message(buf, True)[0], dest, tag, req))
        return req

    def Irecv(self, buf, source=ANY_SOURCE, tag=ANY_TAG):
        if source == PROC_NULL:
            return Request()._local(PROC_NULL, ANY_TAG, 0)
        self._src(source)
        req = RecvRequest(message(buf, False)[0])
        channel.oneway_later(self._irecv(req, source, tag))  # see _channel.oneway_later
        return req

    def Sendrecv(self, sendbuf, dest, sendtag=0, recvbuf=None, source=ANY_SOURCE,
                 recvtag=ANY_TAG, status=None):
        extra = []
        if source != PROC_NULL:
            self._recv_args(source, recvtag)
            rmv = message(recvbuf, False)[0]
        if dest != PROC_NULL:
            self._dest(dest)
            if sendtag < 0 or sendtag > TAG_UB:
                _bad(ERR_TAG)
            mv = message(sendbuf, True)[0]
            extra = self._send_frame(self._t_send % (dest, sendtag), mv, dest)
        if source != PROC_NULL:
            self._recv(RecvRequest(rmv), source, recvtag, status, extra)
        else:
            self._recv(None, PROC_NULL, recvtag, status, extra)

    def Sendrecv_replace(self, buf, dest, sendtag=0, source=ANY_SOURCE, recvtag=ANY_TAG,
                         status=None):
        # the send bytes are in the kernel before anything is read back into buf
        mv = message(buf, False)[0] if (dest != PROC_NULL or source != PROC_NULL) else None
        extra = []
        if source != PROC_NULL:
            self._recv_args(source, recvtag)
        if dest != PROC_NULL:
            self._dest(dest)
            if sendtag < 0 or sendtag > TAG_UB:
                _bad(ERR_TAG)
            extra = self._send_frame(self._t_send % (dest, sendtag), mv, dest)
        if source != PROC_NULL:
            self._recv(RecvRequest(mv), source, recvtag, status, extra)
        else:
            self._recv(None, PROC_NULL, recvtag, status, extra)

    # -- mpi4py 4.x (MPI 4.0) non-blocking sendrecv: the send goes out eagerly, as Isend
    # does, so the request is the receive's ------------------------------------------
    def Isendrecv(self, sendbuf, dest, sendtag=0, recvbuf=None, source=ANY_SOURCE,
                  recvtag=ANY_TAG):
        self.Isend(sendbuf, dest, sendtag)
        return self.Irecv(recvbuf, source, recvtag)

    def Isendrecv_replace(self, buf, dest, sendtag=0, source=ANY_SOURCE, recvtag=ANY_TAG):
        if dest == PROC_NULL and source == PROC_NULL:
            return Request()._local(PROC_NULL, ANY_TAG, 0)
        # the send bytes are in the kernel before anything is read back into buf
        mv = message(buf, False)[0]
        if dest != PROC_NULL:
            self._dest(dest)
            self._send(mv, dest, sendtag)
        if source == PROC_NULL:
            drop_owed()
            return Request()._local(PROC_NULL, ANY_TAG, 0)
        self._src(source)
        req = RecvRequest(mv)
        channel.oneway_later(self._irecv(req, source, recvtag))
        return req

    def Send_init(self, buf, dest, tag=0):
        return Prequest(lambda: self.Isend(buf, dest, tag))

    Bsend_init = Send_init
    Rsend_init = Send_init

    def Ssend_init(self, buf, dest, tag=0):
        return Prequest(lambda: self.Issend(buf, dest, tag))

    def Recv_init(self, buf, source=ANY_SOURCE, tag=ANY_TAG):
        return Prequest(lambda: self.Irecv(buf, source, tag))

    # -- probes -----------------------------------------------------------------------
    def _probe(self, source, tag, block, status, claim=None):
        """Whether a message is there (always, from PROC_NULL); its envelope into status.
        claim: the id of a posted receive that takes what the probe finds (matched probes)."""
        if source == PROC_NULL:
            if status is not None:
                status._set(PROC_NULL, ANY_TAG, 0)
            return True
        self._src(source)
        if tag < ANY_TAG or tag > TAG_UB:
            _bad(ERR_TAG)
        blocking = b'true' if block else b'false'
        if claim is None:
            h = self._t_probe % (source, tag, blocking)
        else:
            h = self._t_mprobe % (source, tag, blocking, claim)
        hdr = channel.call([frame(h)])
        found = hdr.get('found')
        if found and status is not None:
            status._set(hdr['source'], hdr['tag'], hdr['count'])
        return bool(found)

    def Probe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return self._probe(source, tag, True, status)

    def Iprobe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return self._probe(source, tag, False, status)

    probe = Probe
    iprobe = Iprobe

    def Mprobe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return self._mprobe(source, tag, True, status, False)

    def Improbe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return self._mprobe(source, tag, False, status, False)

    def mprobe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return self._mprobe(source, tag, True, status, True)

    def improbe(self, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        return self._mprobe(source, tag, False, status, True)

    def _mprobe(self, source, tag, block, status, pickled):
        """Matched probe: a probe that claims what it finds (`claim`: the agent posts this
        request's receive for exactly that message as it answers), so no other thread's
        receive can take the message between the probe and the receive."""
        if source == PROC_NULL:
            self._probe(source, tag, block, status)
            return Message._noproc()
        req = RecvRequest(None, pickled)
        n = req._post()
        st = Status()
        try:
            found = self._probe(source, tag, block, st, claim=n)
        except BaseException:
            channel.pending.pop(n, None)
            raise
        if not found:
            channel.pending.pop(n, None)    # nothing claimed: the agent posted nothing
            req._active = False
            req._id = None
            return None
        if status is not None:
            status._set(st.source, st.tag, st._count)
        return Message(_req=req, _status=st)

    # -- point to point: Python objects -------------------------------------------------
    def send(self, obj, dest, tag=0):
        if dest == PROC_NULL:
            return
        self._dest(dest)
        self._send(_pickle(obj), dest, tag)

    bsend = send

    def ssend(self, obj, dest, tag=0):
        if dest == PROC_NULL:
            return
        self._dest(dest)
        req = SyncSendRequest()
        bufs = self._isend_sync(_pickle(obj), dest, tag, req)
        bufs.append(frame(_WAIT_ONE % req._id))
        channel.complete(bufs)
        req._finish(None)

    def recv(self, buf=None, source=ANY_SOURCE, tag=ANY_TAG, status=None):
        if buf is not None:
            _warn_buffer_argument()
        if source == PROC_NULL:
            if status is not None:
                status._set(PROC_NULL, ANY_TAG, 0)
            return None
        dst = _pickle_target(buf)
        return self._recv(RecvRequest(dst, True), source, tag, status)

    def isend(self, obj, dest, tag=0):
        if dest != PROC_NULL:
            self._dest(dest)
            self._send(_pickle(obj), dest, tag)
        return Request()._local()

    ibsend = isend

    def issend(self, obj, dest, tag=0):
        if dest == PROC_NULL:
            return Request()._local()
        self._dest(dest)
        req = SyncSendRequest()
        channel.write(self._isend_sync(_pickle(obj), dest, tag, req))
        return req

    def irecv(self, buf=None, source=ANY_SOURCE, tag=ANY_TAG):
        if source == PROC_NULL:
            return RecvRequest(None, True)._local(PROC_NULL, ANY_TAG, 0)
        self._src(source)
        dst = _pickle_target(buf)
        req = RecvRequest(dst, True)
        channel.oneway_later(self._irecv(req, source, tag))  # see _channel.oneway_later
        return req

    def sendrecv(self, sendobj, dest, sendtag=0, recvbuf=None, source=ANY_SOURCE,
                 recvtag=ANY_TAG, status=None):
        if recvbuf is not None:
            _warn_buffer_argument()
        extra = []
        if source != PROC_NULL:
            self._recv_args(source, recvtag)
            dst = _pickle_target(recvbuf)
        if dest != PROC_NULL:
            self._dest(dest)
            if sendtag < 0 or sendtag > TAG_UB:
                _bad(ERR_TAG)
            extra = self._send_frame(self._t_send % (dest, sendtag), _pickle(sendobj), dest)
        if source == PROC_NULL:
            return self._recv(None, PROC_NULL, recvtag, status, extra)
        return self._recv(RecvRequest(dst, True), source, recvtag, status, extra)

    # -- collectives: engine ----------------------------------------------------------
    def _coll(self, coll, root, parts, handler, block, fold=b''):
        """Start collective `coll` with contribution `parts`; handler(counts, ch) consumes
        the result parts.  Blocking: icoll + wait in one write, returns handler's value.
        fold: the header field asking the agent to reduce the parts (_agent_fold)."""
        self._chk()
        req = CollRequest(handler)
        n = req._post()
        lens = ','.join([str(len(p)) for p in parts]).encode()
        if root is None:
            h = self._t_coll % (n, coll, lens)
        else:
            h = self._t_rcoll % (n, coll, root, lens)
        if fold:
            h = h[:-1] + fold + b'}'
        name, at = _call_site()
        if name is not None:
            # the call as the user made it and where: named if members' calls do not match
            h = b'%s,"name":"%s","at":"%s"}' % (h[:-1], name, at)
        seg = self._shm_segment(0)
        if seg is not None:
            # counted where members waiting in shared memory see it (_shm_collectives), and
            # the agent told how many met there before, for the number a mismatch gives
            seg.agent_call(name or coll, root, at)
            if seg.seq:
                h = b'%s,"m":%d}' % (h[:-1], seg.seq)
        total = 0
        for p in parts:
            total += len(p)
        bufs = [_pack_ii(4 + len(h) + total, len(h)) + h]
        bufs.extend(parts)
        channel.payload_sent += total
        if not block:
            channel.write(bufs)
            return req
        bufs.append(frame(_WAIT_ONE % n))
        channel.complete(bufs)
        return req._finish(None)

    def _shm_segment(self, nbytes):
        """Where a blocking collective contributing nbytes meets when its members share
        memory (_shm_collectives), or None: through the agent."""
        if nbytes > _SHM_CAPACITY or not _shm_enabled() or isinstance(self, RemoteGroup):
            return None
        self._chk()
        return _shm_segment_for(self)

    def _shm_segment_of_buffers(self, nbytes, block, *bufs):
        """_shm_segment for a collective of buffers of base types, or None: a nonblocking
        one, or one with a derived datatype (the agent's path packs it), goes through the
        agent."""
        if not block:
            return None
        for buf in bufs:
            if has_derived(buf):
                return None
        return self._shm_segment(nbytes)

    # -- collectives: Python objects ----------------------------------------------------
    def barrier(self):
        self.Barrier()

    def Barrier(self):
        seg = self._shm_segment(0)
        if seg is not None:
            seg.exchange(b'', _SHM_BARRIER)
            return
        self._coll(b'barrier', None, [], discard, True)

    def Ibarrier(self):
        return self._coll(b'barrier', None, [], discard, False)

    def bcast(self, obj, root=0):
        self._root(root)
        seg = self._shm_segment(0)
        if self._rank == root:
            data = _pickle(obj)
            if seg is not None:
                small = len(data) <= _SHM_CAPACITY
                seg.bcast(data if small else None, root, _SHM_OBJ_BCAST)
                if small:
                    return _unpickle(data)
            ref = _bcast_ref(self._group, data)
            return self._coll(b'bcast', root, [data] if ref is None else [b'', ref],
                              lambda counts, ch: _unpickle(data), True)
        if seg is not None:
            data = seg.bcast(None, root, _SHM_OBJ_BCAST)
            if data is not None:
                return _unpickle(data)
        return self._coll(b'bcast', root, [], shared_or(load_one), True)

    def gather(self, sendobj, root=0):
        # through the agent, where a non-root returns at once whatever the others' pickles
        # weigh: in shared memory one over 1 KiB would send the root to the agent without them
        self._root(root)
        handler = load_all if self._rank == root else discard
        return self._coll(b'gather', root, [_pickle(sendobj)], handler, True)

    def scatter(self, sendobj, root=0):
        self._root(root)
        parts = []
        if self._rank == root:
            parts = [_pickle(o) for o in _items(sendobj, self._size)]
        return self._coll(b'scatter', root, parts, load_one, True)

    def allgather(self, sendobj):
        data = _pickle(sendobj)
        seg = self._shm_segment(0)
        if seg is not None:
            # a pickle over 1 KiB on any member sends the call through the agent on all
            parts = seg.exchange(data if len(data) <= _SHM_CAPACITY else None, _SHM_OBJ_ALLGATHER)
            if None not in parts:
                return [_unpickle(p) for p in parts]
        return self._coll(b'allgather', None, [data], load_all, True)

    def alltoall(self, sendobj):
        parts = [_pickle(o) for o in _items(sendobj, self._size)]
        return self._coll(b'alltoall', None, parts, load_all, True)

    def reduce(self, sendobj, op=SUM, root=0):
        values = self.gather(sendobj, root)
        if self._rank != root:
            return None
        return fold_objects(op, values)

    def allreduce(self, sendobj, op=SUM):
        return fold_objects(op, self.allgather(sendobj))

    def scan(self, sendobj, op=SUM):
        values = self.allgather(sendobj)
        return fold_objects(op, values[:self._rank + 1])

    def exscan(self, sendobj, op=SUM):
        values = self.allgather(sendobj)
        if self._rank == 0:
            return None
        return fold_objects(op, values[:self._rank])

    # -- collectives: buffers ---------------------------------------------------------
    def _bcast(self, buf, root, block):
        self._root(root)
        mv = message(buf, self._rank == root)[0]
        # by size alone, not datatype: members may describe the same bytes with other types
        seg = self._shm_segment(len(mv)) if block else None
        if seg is not None:
            if self._rank == root:
                return seg.bcast(mv, root)
            try:
                data = seg.bcast(None, root)
                into_one(mv)([len(data)], _Parts([data]))
            except BaseException:
                drop_owed()
                raise
            unpack = take_owed()    # a derived receive: from the packed scratch into place
            if unpack is not None:
                unpack()
            return None
        if self._rank == root:
            ref = _bcast_ref(self._group, mv)
            return self._coll(b'bcast', root, [mv] if ref is None else [b'', ref], discard, block)
        return self._coll(b'bcast', root, [], shared_or(into_one(mv)), block)

    def _gather(self, sendbuf, recvbuf, root, block, vector):
        self._root(root)
        size, rank = self._size, self._rank
        # in shared memory only when of the same size everywhere: not the v-variants, whose
        # sizes may differ, so that some members would meet there and others not (so too
        # Scatter, Allgather and Alltoall)
        small = block and not vector
        if rank != root:
            smv = message(sendbuf, True)[0]
            seg = self._shm_segment_of_buffers(len(smv), small, sendbuf, recvbuf)
            if seg is not None:
                return seg.gather(smv, root, _SHM_GATHER)
            return self._coll(b'gather', root, [smv], discard, block)
        slots = self._slots(recvbuf, False, vector)
        smv = slots[rank] if _in_place(sendbuf) else message(sendbuf, True)[0]
        if len(smv) != len(slots[rank]) and not vector:
            bad_counts(len(smv), len(slots[rank]))
        seg = self._shm_segment_of_buffers(len(smv), small, sendbuf, recvbuf)
        if seg is not None:
            parts = seg.gather(smv, root, _SHM_GATHER)
            return into_slots(slots)([len(p) for p in parts], _Parts(parts))
        return self._coll(b'gather', root, [smv], into_slots(slots), block)

    def _slots(self, buf, readonly, vector, blocks=None):
        """Per-rank byte views of a Gather/Scatter/Allgather/Alltoall(v) buffer (or of
        `blocks` blocks: a neighbourhood collective's, one per neighbour)."""
        size = self._size if blocks is None else blocks
        if size == 0:
            return []
        if vector:
            mv, counts, displs, dt = message_vector(buf, readonly, size)
            ext = dt._extent
            return [mv[d * ext:(d + c) * ext] for c, d in zip(counts, displs)]
        mv, count, dt = message(buf, readonly, size)
        b = count * dt._extent
        return [mv[i * b:(i + 1) * b] for i in range(size)]

    def _scatter(self, sendbuf, recvbuf, root, block, vector):
        self._root(root)
        rank = self._rank
        parts = []
        small = block and not vector
        if rank == root:
            parts = self._slots(sendbuf, True, vector)
            seg = self._shm_segment_of_buffers(sum(len(p) for p in parts), small, sendbuf, recvbuf)
            if seg is not None:
                # the root publishes every part and returns, as a Bcast's root does
                seg.bcast(b''.join(parts), root, _SHM_SCATTER)
                if not _in_place(recvbuf):
                    into_one(message(recvbuf, False)[0])([len(parts[rank])], _Parts([parts[rank]]))
                return None
            if _in_place(recvbuf):
                return self._coll(b'scatter', root, parts, discard, block)
        rmv = message(recvbuf, False)[0]
        if rank != root:
            seg = self._shm_segment_of_buffers(self._size * len(rmv), small, sendbuf, recvbuf)
            if seg is not None:
                part = _part_of(seg.bcast(None, root, _SHM_SCATTER), rank, self._size)
                return into_one(rmv)([len(part)], _Parts([part]))
        return self._coll(b'scatter', root, parts, into_one(rmv), block)

    def _allgather(self, sendbuf, recvbuf, block, vector):
        slots = self._slots(recvbuf, False, vector)
        me = slots[self._rank]
        smv = me if _in_place(sendbuf) else message(sendbuf, True)[0]
        if len(smv) != len(me) and not vector:
            bad_counts(len(smv), len(me))
        seg = self._shm_segment_of_buffers(len(smv), block and not vector, sendbuf, recvbuf)
        if seg is not None:
            parts = seg.exchange(smv, _SHM_ALLGATHER)
            return into_slots(slots)([len(p) for p in parts], _Parts(parts))
        return self._coll(b'allgather', None, [smv], into_slots(slots), block)

    def _alltoall(self, sendbuf, recvbuf, block, vector):
        rslots = self._slots(recvbuf, False, vector)
        if _in_place(sendbuf):
            # parts are written to the socket before anything is read back into recvbuf
            sslots = rslots
        else:
            sslots = self._slots(sendbuf, True, vector)
        seg = self._shm_segment_of_buffers(sum(len(part) for part in sslots), block and not vector,
                                           sendbuf, recvbuf)
        if seg is not None:
            # each member publishes all its parts (copied before anything lands in recvbuf)
            # and takes its own from everyone's
            me, size = self._rank, self._size
            entries = seg.exchange(b''.join(sslots), _SHM_ALLTOALL)
            parts = [_part_of(entry, me, size) for entry in entries]
            return into_slots(rslots)([len(part) for part in parts], _Parts(parts))
        return self._coll(b'alltoall', None, sslots, into_slots(rslots), block)

    def _alltoallw(self, sendbuf, recvbuf, block):
        size = self._size
        rslots = message_w_slots(recvbuf, False, size)
        if _in_place(sendbuf):
            sslots = rslots
        else:
            try:
                sslots = message_w_slots(sendbuf, True, size)
            except BaseException:
                drop_owed()
                raise
        return self._coll(b'alltoall', None, sslots, into_slots(rslots), block)

    def _reduce(self, sendbuf, recvbuf, op, root, block):
        self._root(root)
        _op_on_derived(op, sendbuf, recvbuf)
        if self._rank != root:
            smv, count, dt = message(sendbuf, True)
            seg = self._shm_segment_of_buffers(len(smv), block, sendbuf)
            if seg is not None:
                return seg.gather(smv, root, _SHM_REDUCE)
            return self._coll(b'gather', root, [smv], discard, block)
        rmv, count, dt = message(recvbuf, False)
        smv = rmv if _in_place(sendbuf) else message(sendbuf, True)[0]
        if len(smv) != len(rmv):
            bad_counts(len(smv) // dt._extent, count)
        seg = self._shm_segment_of_buffers(len(smv), block, recvbuf)
        if seg is not None:
            parts = seg.gather(smv, root, _SHM_REDUCE)
            return fold_into(op, rmv, dt, count, None, ('reduce', root))([len(p) for p in parts], _Parts(parts))
        # folded here, not by the agent: only the root folds, so the agent's one thread
        # would take over a fold that runs beside the others' work (measured: 5-7% slower
        # for 8 bytes at np 4, within noise at 1 MiB)
        return self._coll(b'gather', root, [smv], fold_into(op, rmv, dt, count, None, ('reduce', root)),
                          block)

    def _allreduce(self, sendbuf, recvbuf, op, block, upto=None):
        _op_on_derived(op, sendbuf, recvbuf)
        rmv, count, dt = message(recvbuf, False)
        smv = rmv if _in_place(sendbuf) else message(sendbuf, True)[0]
        if len(smv) != len(rmv):
            bad_counts(len(smv) // dt._extent, count)
        seg = self._shm_segment_of_buffers(len(smv), block, recvbuf)
        if seg is not None:
            call = _SHM_ALLREDUCE if upto is None else _SHM_SCAN if upto == self._rank + 1 else _SHM_EXSCAN
            parts = seg.exchange(smv, call)
            handler = fold_into(op, rmv, dt, count, upto, 'allreduce' if upto is None else None)
            return handler([len(p) for p in parts], _Parts(parts))
        if upto is None:
            kind, fold = 'allreduce', fold_field(op, dt, count, self._size, 'allreduce')
        else:
            kind, fold = None, b''      # Scan/Exscan fold left, each rank its own prefix
        return self._coll(b'allgather', None, [smv], fold_into(op, rmv, dt, count, upto, kind),
                          block, fold)

    def _reduce_scatter(self, sendbuf, recvbuf, recvcounts, op, block):
        size = self._size
        _op_on_derived(op, sendbuf, recvbuf)
        if recvcounts is None:      # Reduce_scatter_block
            if _in_place(sendbuf):
                mv, count, dt = message(recvbuf, False, size)
                smv = mv[:count * dt._extent * size]
            else:
                mv, count, dt = message(recvbuf, False)
                smv = message(sendbuf, True)[0]
            counts = [count] * size
        else:
            if has_derived(recvbuf) or has_derived(sendbuf):
                # recvcounts count derived elements, the packed buffers count base ones
                unsupported('Comm.Reduce_scatter (with derived datatypes)')
            counts = [int(c) for c in recvcounts]
            if len(counts) != size:
                raise ValueError('expecting %d items, got %d' % (size, len(counts)))
            mv, _c, dt = message(recvbuf, False)
            # in place: the whole recvbuf is the contribution, the result lands at its start
            smv = mv if _in_place(sendbuf) else message(sendbuf, True)[0]
            count = counts[self._rank]
        ext = dt._extent
        parts, off = [], 0
        for c in counts:
            parts.append(smv[off * ext:(off + c) * ext])
            off += c
        if off * ext > len(smv):
            raise ValueError('message: send buffer too small for the receive counts')
        return self._coll(b'alltoall', None, parts, fold_into(SUM if op is None else op,
                                                            mv, dt, count, None), block)

    # -- collectives: public upper-case ---------------------------------------------------
    def Bcast(self, buf, root=0):
        self._bcast(buf, root, True)

    def Ibcast(self, buf, root=0):
        return self._bcast(buf, root, False)

    def Gather(self, sendbuf, recvbuf, root=0):
        self._gather(sendbuf, recvbuf, root, True, False)

    def Igather(self, sendbuf, recvbuf, root=0):
        return self._gather(sendbuf, recvbuf, root, False, False)

    def Gatherv(self, sendbuf, recvbuf, root=0):
        self._gather(sendbuf, recvbuf, root, True, True)

    def Igatherv(self, sendbuf, recvbuf, root=0):
        return self._gather(sendbuf, recvbuf, root, False, True)

    def Scatter(self, sendbuf, recvbuf, root=0):
        self._scatter(sendbuf, recvbuf, root, True, False)

    def Iscatter(self, sendbuf, recvbuf, root=0):
        return self._scatter(sendbuf, recvbuf, root, False, False)

    def Scatterv(self, sendbuf, recvbuf, root=0):
        self._scatter(sendbuf, recvbuf, root, True, True)

    def Iscatterv(self, sendbuf, recvbuf, root=0):
        return self._scatter(sendbuf, recvbuf, root, False, True)

    def Allgather(self, sendbuf, recvbuf):
        self._allgather(sendbuf, recvbuf, True, False)

    def Iallgather(self, sendbuf, recvbuf):
        return self._allgather(sendbuf, recvbuf, False, False)

    def Allgatherv(self, sendbuf, recvbuf):
        self._allgather(sendbuf, recvbuf, True, True)

    def Iallgatherv(self, sendbuf, recvbuf):
        return self._allgather(sendbuf, recvbuf, False, True)

    def Alltoall(self, sendbuf, recvbuf):
        self._alltoall(sendbuf, recvbuf, True, False)

    def Ialltoall(self, sendbuf, recvbuf):
        return self._alltoall(sendbuf, recvbuf, False, False)

    def Alltoallv(self, sendbuf, recvbuf):
        self._alltoall(sendbuf, recvbuf, True, True)

    def Ialltoallv(self, sendbuf, recvbuf):
        return self._alltoall(sendbuf, recvbuf, False, True)

    def Alltoallw(self, sendbuf, recvbuf):
        self._alltoallw(sendbuf, recvbuf, True)

    def Ialltoallw(self, sendbuf, recvbuf):
        return self._alltoallw(sendbuf, recvbuf, False)

    def Reduce(self, sendbuf, recvbuf, op=SUM, root=0):
        self._reduce(sendbuf, recvbuf, op, root, True)

    def Ireduce(self, sendbuf, recvbuf, op=SUM, root=0):
        return self._reduce(sendbuf, recvbuf, op, root, False)

    def Allreduce(self, sendbuf, recvbuf, op=SUM):
        self._allreduce(sendbuf, recvbuf, op, True)

    def Iallreduce(self, sendbuf, recvbuf, op=SUM):
        return self._allreduce(sendbuf, recvbuf, op, False)

    def Reduce_scatter_block(self, sendbuf, recvbuf, op=SUM):
        self._reduce_scatter(sendbuf, recvbuf, None, op, True)

    def Ireduce_scatter_block(self, sendbuf, recvbuf, op=SUM):
        return self._reduce_scatter(sendbuf, recvbuf, None, op, False)

    def Reduce_scatter(self, sendbuf, recvbuf, recvcounts=None, op=SUM):
        if recvcounts is None:
            recvcounts = self.allgather(message(recvbuf, False)[1])
        self._reduce_scatter(sendbuf, recvbuf, recvcounts, op, True)

    def Ireduce_scatter(self, sendbuf, recvbuf, recvcounts=None, op=SUM):
        if recvcounts is None:
            recvcounts = self.allgather(message(recvbuf, False)[1])
        return self._reduce_scatter(sendbuf, recvbuf, recvcounts, op, False)

    def Scan(self, sendbuf, recvbuf, op=SUM):
        self._allreduce(sendbuf, recvbuf, op, True, self._rank + 1)

    def Iscan(self, sendbuf, recvbuf, op=SUM):
        return self._allreduce(sendbuf, recvbuf, op, False, self._rank + 1)

    def Exscan(self, sendbuf, recvbuf, op=SUM):
        self._allreduce(sendbuf, recvbuf, op, True, self._rank)

    def Iexscan(self, sendbuf, recvbuf, op=SUM):
        return self._allreduce(sendbuf, recvbuf, op, False, self._rank)

    # -- communicator management --------------------------------------------------------
    def _child_ctx(self, suffix=''):
        self._kids[0] += 1
        return '%s.%d%s' % (self._ctx, self._kids[0], suffix)

    def _register(self, cls, ctx, group):
        """New communicator: tell the agent (one-way, rides with the next write)."""
        comm = cls()._setup(ctx, group, world_rank)
        body = ('{"op":"comm","ctx":"%s","group":[%s]}' % (
            ctx, ','.join(map(str, group)))).encode()
        channel.oneway_later(frame(body))
        return comm

    def Dup(self, info=None):
        self._chk()
        new = self._register(type(self), self._child_ctx(), self._group)._copy_topo(self)
        try:
            new._attrs = _KEYVALS.copied(self, self._attrs)
        except BaseException:
            new.Free()          # a copy callback failed: the Dup fails whole
            raise
        return new

    Clone = Dup

    def Idup(self, info=None):
        """Non-blocking Dup: the agent needs no round trip for it, so it is done at once."""
        return self.Dup(), Request()._local()

    def Dup_with_info(self, info):
        return self.Dup()

    def Idup_with_info(self, info):
        return self.Idup(info)

    def _copy_topo(self, other):
        return self

    def Split(self, color=0, key=0):
        self._chk()
        pairs = self.allgather((color, key))
        ctx = self._child_ctx()
        if color == UNDEFINED:
            return Intracomm(COMM_NULL)
        members = sorted((k, r) for r, (c, k) in enumerate(pairs) if c == color)
        group = [self._group[r] for _, r in members]
        return self._register(Intracomm, '%s.%d' % (ctx, color), group)

    def Split_type(self, split_type, key=0, info=None):
        if split_type == UNDEFINED:
            return self.Split(UNDEFINED, key)
        from ._env import Get_processor_name
        hosts = self.allgather(Get_processor_name())
        return self.Split(hosts.index(hosts[self._rank]), key)

    def Create(self, group):
        self._chk()
        ctx = self._child_ctx()
        ranks = group._ranks
        if world_rank not in ranks:
            return Intracomm(COMM_NULL)
        return self._register(Intracomm, ctx, ranks)

    def Create_group(self, group, tag=0):
        self._chk()
        ranks = group._ranks
        if world_rank not in ranks:
            return Intracomm(COMM_NULL)
        key = (tag, ranks)
        n = _group_counts[key] = _group_counts.get(key, 0) + 1
        ctx = '%s.g%d.%s.%d' % (self._ctx, tag, '-'.join(map(str, ranks)), n)
        return self._register(Intracomm, ctx, ranks)

    def Free(self):
        self._chk()
        if self._ctx == 'w' or self._ctx == 's%d' % world_rank:
            _bad(ERR_COMM)      # the predefined handles cannot be freed (Open MPI: ERR_COMM)
        try:
            _KEYVALS.delete_all(self, self._attrs)
        finally:
            self._release()

    def _release(self):
        """The agent forgets the communicator; this handle becomes null."""
        channel.oneway_later(frame(('{"op":"free","ctx":"%s"}' % self._ctx).encode()))
        _shm_forget(self._ctx)
        self._ctx = None
        self._rank = self._size = UNDEFINED

    def Disconnect(self):
        self.Free()

    def Abort(self, errorcode=0):
        from ._env import _abort
        _abort(errorcode)

    # -- unsupported (intercommunicators, dynamic processes) -----------------------------
    Create_intercomm = _stub('Intracomm.Create_intercomm')
    Spawn = _stub('Intracomm.Spawn')
    Spawn_multiple = _stub('Intracomm.Spawn_multiple')
    Accept = _stub('Intracomm.Accept')
    Connect = _stub('Intracomm.Connect')

    def Create_cart(self, dims, periods=None, reorder=False):
        """Ranks beyond prod(dims) get COMM_NULL (no reordering)."""
        self._chk()
        dims, periods, nnodes = cart_shape(dims, periods, self._size)
        ctx = self._child_ctx()
        if self._rank >= nnodes:
            return Cartcomm(COMM_NULL)
        cart = self._register(Cartcomm, ctx, self._group[:nnodes])
        cart._dims, cart._periods = dims, periods
        return cart

    def Create_graph(self, index, edges, reorder=False):
        """Ranks beyond the graph's nodes get COMM_NULL (no reordering)."""
        self._chk()
        index, edges = graph_shape(index, edges, self._size)
        ctx = self._child_ctx()
        if self._rank >= len(index):
            return Graphcomm(COMM_NULL)
        graph = self._register(Graphcomm, ctx, self._group[:len(index)])
        graph._index, graph._edges = index, edges
        return graph

    def Create_dist_graph_adjacent(self, sources, destinations, sourceweights=None,
                                   destweights=None, info=None, reorder=False):
        self._chk()
        sources, sourceweights = adjacent_edges(sources, sourceweights, self._size,
                                                'Create_dist_graph_adjacent')
        destinations, destweights = adjacent_edges(destinations, destweights, self._size,
                                                   'Create_dist_graph_adjacent')
        graph = self._register(Distgraphcomm, self._child_ctx(), self._group)
        graph._sources, graph._destinations = sources, destinations
        graph._weights = dist_graph_weights(sources, sourceweights, destinations, destweights)
        return graph

    def Create_dist_graph(self, sources, degrees, destinations, weights=None, info=None,
                          reorder=False):
        """Each process names some edges, of any nodes: every process's are gathered and
        each keeps those that start or end at it, in rank order of who named them."""
        self._chk()
        edges, weighted = specified_edges(sources, degrees, destinations, weights, self._size)
        everyone = self.allgather((edges, weighted))
        sources, destinations, sw, dw = my_dist_graph([e for e, _ in everyone], self._rank)
        graph = self._register(Distgraphcomm, self._child_ctx(), self._group)
        graph._sources, graph._destinations = sources, destinations
        if any(w for _, w in everyone):
            graph._weights = ([1 if w is None else w for w in sw],
                              [1 if w is None else w for w in dw])
        else:
            graph._weights = None
        return graph

    def Cart_map(self, dims, periods=None):
        self._chk()
        return cart_map(self._rank, dims)

    def Graph_map(self, index, edges):
        self._chk()
        return graph_map(self._rank, index, edges)


Comm.__module__ = 'mpi4py.MPI'


class Intracomm(Comm):
    """MPI.Intracomm."""

    # MPI 4.0 (mpi4py 4.x): what an MPI 3.1 library answers, as MPI.Get_version() says
    Create_from_group = classmethod(_stub('Intracomm.Create_from_group'))


# MPI 4.0 persistent collectives (mpi4py 4.x): Start() starts the non-blocking one
for _name in ('Barrier', 'Bcast', 'Gather', 'Gatherv', 'Scatter', 'Scatterv', 'Allgather',
              'Allgatherv', 'Alltoall', 'Alltoallv', 'Alltoallw', 'Reduce', 'Allreduce',
              'Reduce_scatter_block', 'Reduce_scatter', 'Scan', 'Exscan'):
    setattr(Comm, _name + '_init', persistent(_name, getattr(Comm, 'I' + _name.lower())))
del _name


Intracomm.__module__ = 'mpi4py.MPI'


class Topocomm(NeighborCollectives, Intracomm):
    """MPI.Topocomm: a communicator with a process topology (its class mixes in which),
    its neighbours and the neighbourhood collectives over them."""

    def _neighbours(self):
        self._chk()
        return self._in_out()

    degrees = property(lambda self: tuple(len(e) for e in self._neighbours()))
    indegree = property(lambda self: len(self._neighbours()[0]))
    outdegree = property(lambda self: len(self._neighbours()[1]))
    inedges = property(lambda self: list(self._neighbours()[0]))
    outedges = property(lambda self: list(self._neighbours()[1]))
    inoutedges = property(lambda self: tuple(list(e) for e in self._neighbours()))


class Cartcomm(CartTopology, Topocomm):
    """MPI.Cartcomm: an ordinary communicator (own ctx) with a Cartesian grid."""

    def Sub(self, remain_dims):
        color, dims, periods = sub_grid(self.Get_coords(self._rank), self._dims,
                                        self._periods, remain_dims)
        cart = Cartcomm()
        cart.__dict__.update(self.Split(color, self._rank).__dict__)
        cart._dims, cart._periods = dims, periods
        return cart


class Graphcomm(GraphTopology, Topocomm):
    """MPI.Graphcomm: a communicator with a graph every member knows whole."""


class Distgraphcomm(DistGraphTopology, Topocomm):
    """MPI.Distgraphcomm: a communicator where each member knows its own edges."""


for _name in ('allgather', 'allgatherv', 'alltoall', 'alltoallv', 'alltoallw'):
    _name = 'Neighbor_' + _name
    setattr(Topocomm, _name + '_init', persistent(_name, getattr(Topocomm, 'I' + _name.lower())))
del _name
Topocomm.__module__ = Cartcomm.__module__ = 'mpi4py.MPI'
Graphcomm.__module__ = Distgraphcomm.__module__ = 'mpi4py.MPI'
# what a class may be made from (Comm.__new__): a topology class only from its own kind
Comm._made_from = Comm
for _cls in (Topocomm, Cartcomm, Graphcomm, Distgraphcomm):
    _cls._made_from = _cls
del _cls


class Intercomm(RemoteGroup, Comm):
    """MPI.Intercomm (null only: see _intercomm)."""


Intercomm.__module__ = 'mpi4py.MPI'


# -- per-communicator locks of the lower-case calls (mpi4py 4.x): two threads calling
# comm.bcast (or recv, gather...) at once take turns in call order ------------------------
def _comm_lock_table(comm):
    """The communicator's table of locks, as mpi4py 4.x's MPI._comm_lock_table."""
    comm._chk()
    return comm._locks


def _locked(fn, key):
    def method(self, *args, **kwargs):
        table = self.__dict__.get('_locks')
        if table is None:                   # a null communicator: fn raises ERR_COMM
            return fn(self, *args, **kwargs)
        lock = table.get(key)
        if lock is None:
            lock = table.setdefault(key, allocate_lock())
        if not lock.acquire(False):
            # another thread is in this call: waiting for it is waiting in MPI
            channel.park(1)
            try:
                lock.acquire()
            finally:
                channel.park(-1)
        try:
            return fn(self, *args, **kwargs)
        finally:
            lock.release()
    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


for _key in ('recv', 'bcast', 'gather', 'scatter', 'allgather', 'alltoall'):
    setattr(Comm, _key, _locked(getattr(Comm, _key), _key))
del _key


def _op_on_derived(op, sendbuf, recvbuf):
    # Open MPI applies its predefined ops to predefined datatypes only (MPI_ERR_OP);
    # a user op gets the packed elements
    predefined = op is None or getattr(op, '_name', None) is not None
    if predefined and (has_derived(sendbuf) or has_derived(recvbuf)):
        _bad(ERR_OP)


def _items(seq, size):
    if seq is None:
        seq = [None] * size
    seq = list(seq)
    if len(seq) != size:
        raise ValueError('expecting %d items, got %d' % (size, len(seq)))
    return seq


# -- the predefined communicators ------------------------------------------------------
# This process's COMM_WORLD rank and the job's size (_world), bound by _bind_world: when this
# module is imported, except in a warm interpreter (_warm_modules.WARMING), which imports it
# once for the ranks it forks; each of those binds its own on `from mpi4py import MPI`.
world_rank = world_size = None

COMM_NULL = Comm()
COMM_WORLD = Intracomm()
COMM_SELF = Intracomm()


def _bind_world():
    """Sets up COMM_WORLD and COMM_SELF for this process's rank (once)."""
    global world_rank, world_size
    if world_rank is not None:
        return
    from ._world import world_rank as rank, world_size as size
    if not 0 <= rank < size:
        # Checked before either communicator is touched: a half set-up COMM_WORLD would fail
        # later, far from the cause (an environment set by hand, rank without size).
        raise RuntimeError('mpiaas: this process is rank %d of a job of %d: MPIAAS_RANK/MPIAAS_SIZE '
                           '(or OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/SIZE) must give 0 <= rank < size'
                           % (rank, size))
    COMM_WORLD._setup('w', range(size), rank, 'MPI_COMM_WORLD')
    COMM_SELF._setup('s%d' % rank, [rank], rank, 'MPI_COMM_SELF')
    world_rank, world_size = rank, size


if not _warm_modules.WARMING[0]:
    _bind_world()
