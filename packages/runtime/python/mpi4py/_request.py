"""Requests: local bookkeeping for operations the agent completes.

A request is pending (its id is in channel.pending, the agent will report it), done (the
agent's completion arrived, possibly during someone else's wait/test, or it completed
locally: eager sends, PROC_NULL), or null (its completion has been handed to the user;
it then compares equal to REQUEST_NULL).  Completions carry their payload: receives and
collectives read it from the socket straight into the destination the request holds.
"""

from ._channel import channel, wait_frames, test_frames, frame
from ._errors import Exception as MPIException, ERR_IN_STATUS, ERR_TRUNCATE, ERR_REQUEST
from ._status import Status, ANY_SOURCE, ANY_TAG, PROC_NULL, UNDEFINED

from ._pickle import pickle as _PICKLE
from ._derived import take_owed, drop_owed
from ._unsupported import _stub


def _unpickle(data):
    # through MPI.pickle, so a script's own serializer (MPI.pickle.__init__) is used
    return _PICKLE.loads(data)


class Request:
    """MPI.Request."""

    # what went wrong while the completion was read (a result handler's exception, a file
    # the message was left in that could not be read): raised when the request finishes,
    # as the channel must read the whole reply first
    _exc = None

    def __init__(self, request=None):
        self._active = False
        self._done = False
        self._id = None
        self._persistent = False
        self._src = ANY_SOURCE
        self._tag = ANY_TAG
        self._count = 0
        self._err = 0
        self._cancelled = False
        self._obj = None
        self._unpack = None
        self._handle = self
        if isinstance(request, Request):
            self.__dict__.update(request.__dict__)

    # -- identity ---------------------------------------------------------------------
    def _isnull(self):
        return not self._active and not self._persistent

    def __eq__(self, other):
        # copies (Request(req)) stand for the same MPI request: they share its handle
        if not isinstance(other, Request):
            return NotImplemented
        if self._isnull() or other._isnull():
            return self._isnull() and other._isnull()
        return self is other or self._handle is other._handle

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return id(self)

    def __bool__(self):
        return not self._isnull()

    def __reduce__(self):
        # mpi4py 4.x: REQUEST_NULL pickles as itself, a live request cannot be pickled
        from ._handles import reduce_handle
        return reduce_handle(self, globals(), ('REQUEST_NULL',))

    # -- lifecycle helpers (used by _comm) -------------------------------------------
    def _post(self):
        """Register as pending with a fresh agent request id; returns the id."""
        n = channel.new_req()
        self._id = n
        self._active = True
        self._done = False
        self._err = 0
        self._cancelled = False
        self._obj = None
        # a receive into a derived datatype lands packed; copy it out on completion
        self._unpack = take_owed()
        channel.pending[n] = self
        return n

    def _local(self, src=ANY_SOURCE, tag=ANY_TAG, count=0, obj=None):
        """Completed without the agent (eager send, PROC_NULL)."""
        drop_owed()
        self._id = None
        self._active = True
        self._done = True
        self._src, self._tag, self._count, self._err = src, tag, count, 0
        self._cancelled = False
        self._obj = obj
        return self

    def _complete(self, comp, ch):
        """Agent completion (called by the channel, which reads the payload with us)."""
        kind = comp['kind']
        if kind == 'cancelled':
            self._cancelled = True
            self._src, self._tag, self._count = ANY_SOURCE, ANY_TAG, 0
        else:
            self._on_complete(comp, ch)
            unpack = self._unpack
            if unpack is not None:
                self._unpack = None
                unpack()
        self._done = True
        self._id = None

    def _on_complete(self, comp, ch):
        pass

    def _fill(self, status):
        if status is not None:
            status.source = self._src
            status.tag = self._tag
            status.error = self._err
            status._count = self._count
            status._cancelled = self._cancelled

    def _finish(self, status):
        """Hand the completion to the user: fill status, become null/inactive."""
        self._fill(status)
        self._active = False
        exc = self._exc
        if exc is not None:
            self._exc = None
            raise exc
        if self._err:
            err, self._err = self._err, 0
            raise MPIException(err)
        obj, self._obj = self._obj, None
        return obj

    def _result(self, obj):
        return obj

    # -- MPI API ----------------------------------------------------------------------
    def Wait(self, status=None):
        if not self._active:
            _empty(status)
            return True
        if not self._done:
            channel.complete([wait_frames([self._id], 'all')])
        self._finish(status)
        return True

    def Test(self, status=None):
        return self._poll(status, self._finish)

    def Get_status(self, status=None):
        """Like Test, but the request stays as it is."""
        return self._poll(status, self._fill)

    def _poll(self, status, report):
        """Asks the agent (without blocking) whether the request is done; if so `report`s it."""
        if not self._active:
            _empty(status)
            return True
        if not self._done:
            channel.complete([test_frames([self._id], 'all')])
            if not self._done:
                return False
        report(status)
        return True

    get_status = Get_status

    def Cancel(self):
        if self._isnull():
            raise MPIException(ERR_REQUEST)
        if self._active and not self._done and self._id is not None:
            channel.write([frame(b'{"op":"cancel","req":%d}' % self._id)])

    cancel = Cancel

    def Free(self):
        if self._isnull():
            raise MPIException(ERR_REQUEST)
        if self._id is not None:
            channel.pending.pop(self._id, None)
        self._active = False
        self._persistent = False
        self._id = None

    def free(self):
        """mpi4py 4.x: Free unless already null."""
        if not self._isnull():
            self.Free()

    def wait(self, status=None):
        if not self._active:
            _empty(status)
            return None
        if not self._done:
            channel.complete([wait_frames([self._id], 'all')])
        return self._result(self._finish(status))

    def test(self, status=None):
        if not self._active:
            _empty(status)
            return (True, None)
        if not self._done:
            channel.complete([test_frames([self._id], 'all')])
            if not self._done:
                return (False, None)
        return (True, self._result(self._finish(status)))

    # integer handles (mpi4py 4.x handle/fromhandle, toint/fromint; py2f/f2py)
    def py2f(self):
        from ._handles import handle_of
        return handle_of(self) if not self._isnull() else 0

    handle = property(py2f)
    toint = py2f

    @classmethod
    def f2py(cls, arg):
        from ._handles import from_handle
        return from_handle(cls, arg)

    fromhandle = f2py
    fromint = f2py

    # -- many requests ----------------------------------------------------------------
    @classmethod
    def Waitall(cls, requests, statuses=None):
        _drive(requests, 'all', True)
        _finish_all(requests, statuses, range(len(requests)))
        return True

    @classmethod
    def waitall(cls, requests, statuses=None):
        _drive(requests, 'all', True)
        return _finish_all(requests, statuses, range(len(requests)), objects=True)

    @classmethod
    def Testall(cls, requests, statuses=None):
        if not _drive(requests, 'all', False):
            return False
        _finish_all(requests, statuses, range(len(requests)))
        return True

    @classmethod
    def testall(cls, requests, statuses=None):
        if not _drive(requests, 'all', False):
            return (False, None)
        return (True, _finish_all(requests, statuses, range(len(requests)), objects=True))

    @classmethod
    def Waitany(cls, requests, status=None):
        i = _any(requests, True)
        if i == UNDEFINED:
            _empty(status)
            return UNDEFINED
        requests[i]._finish(status)
        return i

    @classmethod
    def waitany(cls, requests, status=None):
        i = _any(requests, True)
        if i == UNDEFINED:
            _empty(status)
            return (UNDEFINED, None)
        r = requests[i]
        return (i, r._result(r._finish(status)))

    @classmethod
    def Testany(cls, requests, status=None):
        i = _any(requests, False)
        if i is None:
            return (UNDEFINED, False)
        if i == UNDEFINED:
            _empty(status)
            return (UNDEFINED, True)
        requests[i]._finish(status)
        return (i, True)

    @classmethod
    def testany(cls, requests, status=None):
        i = _any(requests, False)
        if i is None:
            return (UNDEFINED, False, None)
        if i == UNDEFINED:
            _empty(status)
            return (UNDEFINED, True, None)
        r = requests[i]
        return (i, True, r._result(r._finish(status)))

    @classmethod
    def Waitsome(cls, requests, statuses=None):
        idx = _some(requests, True)
        if idx is None:
            return None
        _finish_all(requests, statuses, idx)
        return idx

    @classmethod
    def Testsome(cls, requests, statuses=None):
        idx = _some(requests, False)
        if idx is None:
            return None
        _finish_all(requests, statuses, idx)
        return idx

    @classmethod
    def waitsome(cls, requests, statuses=None):
        idx = _some(requests, True)
        if idx is None:
            return (None, None)
        return (idx, _finish_all(requests, statuses, idx, objects=True))

    @classmethod
    def testsome(cls, requests, statuses=None):
        idx = _some(requests, False)
        if idx is None:
            return (None, None)
        return (idx, _finish_all(requests, statuses, idx, objects=True))


    # -- mpi4py 4.x (MPI 4.1): statuses of many requests, none of them freed ----------
    @classmethod
    def Get_status_all(cls, requests, statuses=None):
        """True when every request is done (null ones count as done); the statuses of
        all of them are then filled in.  No request is freed."""
        if not all([r.Get_status() for r in requests]):
            return False
        if statuses is not None:
            while len(statuses) < len(requests):
                statuses.append(Status())
            for r, st in zip(requests, statuses):
                r.Get_status(st)
        return True

    @classmethod
    def Get_status_any(cls, requests, status=None):
        """(index, True) of a done active request, (UNDEFINED, True) when none is active,
        (UNDEFINED, False) when none is done yet."""
        active = [i for i, r in enumerate(requests) if r._active]
        if not active:
            _empty(status)
            return (UNDEFINED, True)
        for i in active:
            if requests[i].Get_status(status):
                return (i, True)
        return (UNDEFINED, False)

    @classmethod
    def Get_status_some(cls, requests, statuses=None):
        """Indices of the done active requests (None when none is active)."""
        active = [i for i, r in enumerate(requests) if r._active]
        if not active:
            return None
        done = [i for i in active if requests[i].Get_status()]
        if statuses is not None:
            while len(statuses) < len(done):
                statuses.append(Status())
            for k, i in enumerate(done):
                requests[i].Get_status(statuses[k])
        return done

    get_status_all = Get_status_all
    get_status_any = Get_status_any
    get_status_some = Get_status_some


Request.__module__ = 'mpi4py.MPI'


def _empty(status):
    if status is not None:
        status._set(ANY_SOURCE, ANY_TAG, 0)


def _drive(requests, mode, block):
    """Ask the agent about the pending requests; True if all are done afterwards."""
    ids = [r._id for r in requests if r._active and not r._done]
    if not ids:
        return True
    if block:
        channel.complete([wait_frames(ids, mode)])
    else:
        channel.complete([test_frames(ids, mode)])
    for r in requests:
        if r._active and not r._done:
            return False
    return True


def _any(requests, block):
    """Index of a done request, UNDEFINED if none is active, None if none done (test)."""
    active = False
    for i, r in enumerate(requests):
        if r._active:
            if r._done:
                return i
            active = True
    if not active:
        return UNDEFINED
    ids = [r._id for r in requests if r._active and not r._done]
    channel.complete([(wait_frames if block else test_frames)(ids, 'any')])
    for i, r in enumerate(requests):
        if r._active and r._done:
            return i
    return None


def _some(requests, block):
    """Indices of done requests (waiting for at least one if block); None if no active."""
    act = [r for r in requests if r._active]
    if not act:
        return None
    if not any(r._done for r in act):
        ids = [r._id for r in act]
        channel.complete([(wait_frames if block else test_frames)(ids, 'some')])
    return [i for i, r in enumerate(requests) if r._active and r._done]


def _finish_all(requests, statuses, indices, objects=False):
    """Finish the given requests; errors surface as ERR_IN_STATUS (statuses say which).

    Statuses as mpi4py 3.1 fills them: the k-th status is the k-th finished request's
    (for Wait/Testall every request, for Wait/Testsome only the completed ones, packed);
    a list shorter than that grows, other sequences are filled as far as they go, and the
    statuses past the finished ones are reset to empty."""
    indices = list(indices)
    slots = _status_slots(statuses, len(indices), len(requests))
    objs = []
    failed = False
    raised = None
    for k, i in enumerate(indices):
        r = requests[i]
        st = slots[k] if k < len(slots) else None
        if not r._active:
            _empty(st)
            objs.append(None)
            continue
        err = r._err
        r._err = 0
        r._fill(st)
        r._active = False
        obj, r._obj = r._obj, None
        exc, r._exc = r._exc, None
        if exc is not None:
            if not isinstance(exc, MPIException) or len(indices) == 1:
                raised = raised or exc      # raised as it is (a count mismatch's ValueError)
            err = exc.Get_error_class() if isinstance(exc, MPIException) else err
        if err:
            failed = failed or err
            if st is not None:
                st.error = err
            objs.append(None)
        else:
            objs.append(r._result(obj) if objects else None)
    for st in slots[len(indices):]:
        _empty(st)
    if raised is not None:
        raise raised
    if failed:
        raise MPIException(ERR_IN_STATUS if len(indices) > 1 else failed)
    return objs if objects else None


def _status_slots(statuses, outcount, incount):
    """The statuses to fill: grown to outcount if a list, at most incount of them."""
    if statuses is None:
        return []
    if len(statuses) < outcount and isinstance(statuses, list):
        statuses += [Status() for _ in range(outcount - len(statuses))]
    return list(statuses[:incount])


class RecvRequest(Request):
    """A receive: the payload goes into `dst` (a byte view of the user's buffer) or, with
    no buffer, into fresh memory; pickled (lower-case) payloads are unpickled on wait."""

    def __init__(self, dst=None, pickled=False):
        Request.__init__(self)
        self._dst = dst
        self._pickled = pickled

    def _on_complete(self, comp, ch):
        n = comp['count']
        self._src = comp['source']
        self._tag = comp['tag']
        if 'shm' in comp:           # a reference to the message in a file (_shared_memory)
            from ._shared_memory import read_shared
            ref = ch.read(n)        # the channel is in step: what follows is another's
            try:
                read_shared(ref, lambda counts, body: self._take(body, counts[0]))
            except MPIException as exc:
                self._count, self._obj, self._exc = 0, None, exc
            return
        self._take(ch, n)

    def _take(self, ch, n):
        """The message: n bytes read from ch (the channel, or a file's body)."""
        dst = self._dst
        if dst is None:
            self._obj = ch.read(n) if n else b''
            self._count = n
            return
        cap = len(dst)
        if n <= cap:
            ch.readinto(dst[:n] if n < cap else dst)
            self._count = n
            self._obj = dst[:n] if self._pickled else None
        else:
            ch.readinto(dst)
            ch.skip(n - cap)
            self._count = cap
            self._err = ERR_TRUNCATE

    def _result(self, obj):
        if self._pickled:
            if obj is None or not len(obj):
                return None
            return _unpickle(obj)
        return None


class SyncSendRequest(Request):
    """Issend: done once the agent reports the receiver matched it."""

    def _on_complete(self, comp, ch):
        self._src, self._tag, self._count = ANY_SOURCE, ANY_TAG, 0


class CollRequest(Request):
    """A collective: `handler(counts, ch)` consumes the result parts and returns the
    value (lower-case result or None); it runs when the completion arrives."""

    def __init__(self, handler=None):
        Request.__init__(self)
        self._handler = handler

    def _on_complete(self, comp, ch):
        self._src, self._tag, self._count = ANY_SOURCE, ANY_TAG, 0
        try:
            self._obj = self._handler(comp['counts'], ch)
        except BaseException as exc:
            # the reply must still be drained by the channel; surface error at finish
            self._obj = None
            self._exc = exc


class Prequest(Request):
    """Persistent request (Send_init/Recv_init): Start() re-issues the operation."""

    def __init__(self, starter=None):
        if isinstance(starter, Request):        # Prequest(preq): the same request
            Request.__init__(self, starter)
            return
        Request.__init__(self)
        self._starter = starter
        self._persistent = True
        self._inner = None

    def Start(self):
        inner = self._starter()
        self._inner = inner
        # adopt the started request's state; completions are routed to us
        self._active = True
        self._done = inner._done
        self._id = inner._id
        self._src, self._tag, self._count = inner._src, inner._tag, inner._count
        if inner._id is not None:
            channel.pending[inner._id] = self

    def _complete(self, comp, ch):
        inner = self._inner
        inner._complete(comp, ch)
        self._done = True
        self._id = None
        self._src, self._tag, self._count = inner._src, inner._tag, inner._count
        self._err, inner._err = inner._err, 0
        self._cancelled = inner._cancelled
        self._obj = inner._obj
        self._exc, inner._exc = inner._exc, None

    def _result(self, obj):
        return self._inner._result(obj) if self._inner is not None else None

    @classmethod
    def Startall(cls, requests):
        for r in requests:
            r.Start()

    def Free(self):
        Request.Free(self)
        self._starter = None


Prequest.__module__ = 'mpi4py.MPI'

class Grequest(Request):
    """Generalized request: the type exists (Grequest(x) type-checks x, as mpi4py does);
    starting one is not provided."""

    def __init__(self, request=None):
        if request is not None and not isinstance(request, Grequest):
            raise TypeError('expecting a Grequest, not %s' % type(request).__name__)
        Request.__init__(self, request)

    Start = classmethod(_stub('Grequest.Start'))
    Complete = _stub('Grequest.Complete')


Grequest.__module__ = 'mpi4py.MPI'

REQUEST_NULL = Request()
