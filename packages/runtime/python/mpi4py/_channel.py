"""The rank's only way out: framed requests to the mpiaas agent over fd 3 (PROTOCOL.md).

Frame: u32 LE frameLen | u32 LE headerLen | JSON header | body.

Design notes (performance):
* Headers are built by callers as bytes (`%`-formatting of precomputed templates); JSON
  encoding is never on the hot path.  Replies are parsed by json's C scanner, without the
  json package (compact_json_loads).
* A frame is written with one sendmsg([prefix+header, body...]) so large buffers are not
  concatenated; one-way frames that may be delayed (comm, free, a posted receive) are
  queued and ride along with the next write, and a blocking call writes its one-way + wait
  frames together.
* Reply bodies are consumed by the request that owns them (`readinto` straight into the
  user's buffer); only the bytes that arrived together with the header are copied.
* The socket is connected lazily, so `from mpi4py import MPI` costs no round trip.

Threads (THREAD_MULTIPLE): frames are written whole under one lock, so threads' frames never
interleave. The agent numbers a rank's calls (hello, wait, test, probe) in the order they
arrive and answers each when it can, tagging the reply with that number (`k`); the shim
numbers them the same way while it holds the write lock. Replies are read by whichever
waiting thread gets there first (leader/follower: no reader thread, so a single-threaded rank
reads its own replies with no hand-off): it hands every completion to its request, reading
the payload into the request's buffer, and leaves the header for the thread whose call it
answers.
"""

import os
import sys
from _struct import Struct
from _thread import allocate_lock, _count as _thread_count   # threads but the main one (C-level)
from itertools import count as _count

_II = Struct('<II')
_pack_ii = _II.pack
_unpack_ii = _II.unpack_from

_IOV_MAX = 512          # stay well below the kernel's IOV_MAX (1024)
_RBUF = 1 << 16         # read buffer: header + small bodies arrive in one recv


def compact_json_loads():
    """json.loads for JSON without whitespace between tokens (the agent's JSON.stringify):
    json's C scanner alone. The json package imports re for the whitespace around values,
    a few milliseconds of every rank's start (hello world calls MPI once)."""
    try:
        from _json import make_scanner
    except ImportError:             # not CPython
        from json import loads
        return loads

    class Context:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = float      # NaN, Infinity: JSON.stringify never writes them
        memo = None

    scan = make_scanner(Context())

    def loads(text):
        return scan(text, 0)[0]
    return loads


def frame(header, bodylen=0):
    """prefix + header bytes for a frame whose body (written separately) has bodylen bytes."""
    return _pack_ii(4 + len(header) + bodylen, len(header)) + header


def _script_threads_alive():
    """Whether a thread of the script's other than the main one still runs (the shim's own
    stdout flusher is a bare thread, not among threading's; a script's bare threads are not
    seen either)."""
    threading = sys.modules.get('threading')
    if threading is None:
        return False
    main = threading.main_thread()
    return any(t is not main and t.is_alive() for t in threading.enumerate())


class Channel:
    """fd-3 connection to the agent; one instance per process (`channel`)."""

    def __init__(self):
        self.sock = None
        self.info = None            # hello reply
        self.pending = {}           # req id -> Request waiting for an agent completion
        self.outq = []              # queued one-way frames (sent before the next write)
        self._req_ids = _count(1)   # next() is atomic: threads post requests at once
        self.finalized = False
        self.fd = 3
        self._rbuf = bytearray(_RBUF)
        self._rmv = memoryview(self._rbuf)
        self._rpos = 0
        self._rend = 0
        self._loads = None
        self._lock = None           # the write lock: one frame (or batch) on the wire at once
        self._connecting = allocate_lock()  # two threads' first calls connect once
        self._calls = 1             # number of the next call written (hello was 0)
        self._answers = {}          # call number -> reply header read by another thread
        self._turn_lock = allocate_lock()    # guards _answers, _reading, _waiting (taken
        self._turn = None           # made by _turn_condition on first need (directly: a C call)
        self._reading = False       # a thread is reading replies for everyone
        self._waiting = 0           # threads waiting in _turn for a reply or their turn to read
        self._threads_seen = 0      # threads but the main one (_thread._count()) when last counted
        self._threads_told = 1      # running user threads the agent was last told of
        self._parked = 0            # threads waiting for another's call (a communicator lock)
        # payload bytes of the messages and collective contributions this rank wrote (the
        # profile's bytes sent): counted by _comm as it frames them, which costs one addition
        # where parsing every write's frames for their bodies cost more than a µs a call
        self.payload_sent = 0

    # -- connection -------------------------------------------------------------------
    def connect(self):
        with self._connecting:
            if self._lock is None:
                self._connect()
        return self.info

    def _connect(self):
        import _socket
        import _thread
        if 'MPIAAS_PROTOCOL' not in os.environ:
            raise RuntimeError('mpi4py (mpiaas): this process was not started by an mpiaas '
                               'agent, so it cannot communicate (no MPIAAS_PROTOCOL)')
        self._loads = compact_json_loads()
        try:
            sock = _socket.socket(fileno=self.fd)
        except OSError as exc:
            self.finalized = True       # nobody to say goodbye to at exit
            sys.stderr.write('mpi4py (mpiaas): no agent socket on fd %d (%s); run this '
                             'script through mpiaas\n' % (self.fd, exc))
            raise SystemExit(1)
        sock.setblocking(True)
        if os.environ.get('MPI4PY_SCHED_BATCH', '1') != '0':
            from ._scheduling import run_as_batch
            run_as_batch()
        self._sendmsg = sock.sendmsg
        self._recv_into = sock.recv_into
        # hello before the socket and lock are published: other threads wait in connect()
        self._sendmsg([frame(b'{"op":"hello","v":2}')])
        self.info = self.read_reply()
        self.sock = sock
        self._lock = _thread.allocate_lock()

    def ensure(self):
        if self.sock is None:
            self.connect()

    def let_go(self):
        """At exit, after the goodbye: the socket object gives up fd 3 without closing it (the
        process's exit closes it). Otherwise interpreter shutdown may find an unclosed socket
        and print a ResourceWarning for it, as CPython 3.11 does once a script's
        warnings.catch_warnings has caught a warning. Only when no thread of the script's is
        left (a daemon thread may still be in a call on the socket: it is left as it was)."""
        sock, lock = self.sock, self._lock
        if sock is None or _script_threads_alive():
            return
        if lock.acquire(False):
            sock.detach()

    def new_req(self):
        return next(self._req_ids)

    # -- writing ----------------------------------------------------------------------
    def oneway_later(self, data):
        """Queue a one-way frame that can wait for the next write: comm, free, and a posted
        receive (Irecv). A receive's data reaches the rank only in the reply to a later wait,
        test or probe, whose write takes the queue along first, so posting it then costs the
        rank nothing, and a window of 64 Irecvs and a Waitall is one system call instead of
        65. (A synchronous send to it is matched then too, as MPI allows.)"""
        lock = self._lock
        if lock is None:            # not connected yet: no other thread can be writing
            self.outq.append(data)
            return
        with lock:                  # another thread's write may be taking the queue
            self.outq.append(data)

    def write(self, bufs):
        """Write one-way frames (a list of bytes-like pieces) with as few syscalls as
        possible, whole: another thread's frames go before or after, never between."""
        if self._lock is None:
            self.connect()
        with self._lock:
            self._write(bufs)

    def _write(self, bufs):
        if self.outq:
            bufs = self.outq + bufs
            self.outq = []
        try:
            if len(bufs) <= _IOV_MAX:
                total = sum(map(len, bufs))     # pieces are bytes or 1-D byte views
                sent = self._sendmsg(bufs)
                if sent == total:
                    return
            else:
                sent = 0
            self._write_slow(bufs, sent)
        except (BrokenPipeError, ConnectionResetError):
            self.agent_gone()

    def _write_slow(self, bufs, skip):
        # partial write or too many pieces: walk the list, sending at most _IOV_MAX at once
        views = []
        for b in bufs:
            m = memoryview(b).cast('B') if not isinstance(b, (bytes, bytearray)) else memoryview(b)
            n = len(m)
            if skip >= n:
                skip -= n
                continue
            if skip:
                m = m[skip:]
                skip = 0
            views.append(m)
        while views:
            sent = self._sendmsg(views[:_IOV_MAX])
            while sent:
                n = len(views[0])
                if sent >= n:
                    sent -= n
                    views.pop(0)
                else:
                    views[0] = views[0][sent:]
                    sent = 0

    def flush(self):
        if self.outq and self._lock is not None:
            self.write([])

    # -- reading ----------------------------------------------------------------------
    def agent_gone(self):
        """EOF or broken pipe on fd 3: the agent is gone, so is this rank (status 1)."""
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(1)

    def _fill(self, n):
        """Make at least n bytes available in the read buffer."""
        if self._rend - self._rpos >= n:
            return
        if self._rpos + n > len(self._rbuf):
            avail = self._rend - self._rpos
            if n > len(self._rbuf):
                nb = bytearray(max(n, 2 * len(self._rbuf)))
                nb[:avail] = self._rmv[self._rpos:self._rend]
                self._rbuf = nb
                self._rmv = memoryview(nb)
            else:
                self._rbuf[:avail] = self._rmv[self._rpos:self._rend]
            self._rpos = 0
            self._rend = avail
        recv_into = self._recv_into
        mv = self._rmv
        while self._rend - self._rpos < n:
            try:
                k = recv_into(mv[self._rend:])
            except ConnectionResetError:
                k = 0
            if not k:
                self.agent_gone()
            self._rend += k

    def read_reply(self):
        """Read one reply header; its body is left for readinto/read/skip."""
        while True:
            hdr = self._read_header()
            if 'stack' not in hdr:
                return hdr
            self._send_stack()

    def _read_header(self):
        self._fill(8)
        flen, hlen = _unpack_ii(self._rbuf, self._rpos)
        self._rpos += 8
        self._fill(hlen)
        p = self._rpos
        hdr = self._loads(self._rbuf[p:p + hlen].decode())
        self._rpos = p + hlen
        self.body_left = flen - 4 - hlen
        return hdr

    def serve_stack_requests(self):
        """Answer the agent's stack requests while this thread waits outside the agent (in a
        collective met in shared memory, _shm_collectives): with no call of this thread open,
        the agent sends nothing else unasked. Left to the reading thread if another reads."""
        if self.sock is None:
            return
        with self._turn_lock:
            if self._reading:
                return
            self._reading = True
        try:
            from select import select
            while self._rend > self._rpos or select([self.fd], [], [], 0)[0]:
                hdr = self._read_header()
                if 'stack' in hdr:
                    self._send_stack()
                    continue
                # another thread's reply (its call went out meanwhile): kept for that thread
                got, hdr = self._take(hdr)
                with self._turn_lock:
                    self._answers[got] = hdr
        finally:
            self._stop_reading()

    def _stop_reading(self):
        """Give up reading replies for everyone: a waiting thread reads on or finds its own."""
        with self._turn_lock:
            self._reading = False
            if self._waiting:
                self._turn_condition().notify_all()

    def _send_stack(self):
        """The agent asks where this rank is stuck (it never asks otherwise): answer, wait on."""
        from json import dumps
        from ._stacks import describe
        body = dumps(describe()).encode()
        self.write([frame(b'{"op":"stack"}', len(body)), body])

    def readinto(self, dst):
        """Fill the writable byte memoryview dst from the reply body."""
        n = len(dst)
        if not n:
            return
        self.body_left -= n
        avail = self._rend - self._rpos
        if avail:
            k = n if n < avail else avail
            p = self._rpos
            dst[:k] = self._rmv[p:p + k]
            self._rpos = p + k
            if k == n:
                return
            dst = dst[k:]
            n -= k
        # the rest goes straight into the destination: no intermediate copy
        recv_into = self._recv_into
        while n:
            try:
                k = recv_into(dst, n)
            except ConnectionResetError:
                k = 0
            if not k:
                self.agent_gone()
            n -= k
            if n:
                dst = dst[k:]

    def read(self, n):
        """The next n body bytes (bytes-like)."""
        avail = self._rend - self._rpos
        if n <= avail:
            p = self._rpos
            self._rpos = p + n
            self.body_left -= n
            return bytes(self._rmv[p:p + n])
        out = bytearray(n)
        self.readinto(memoryview(out))
        return out

    def skip(self, n):
        while n:
            k = n if n < 1 << 20 else 1 << 20
            self.readinto(memoryview(bytearray(k)))
            n -= k

    def _drop(self, comp):
        """Skip the payload of a completion no request waits for any more; a reference to
        a file a sender left for this rank (_shared_memory) lets the file go."""
        from ._collective_results import is_shared_reference
        kind = comp.get('kind')
        counts = [comp.get('count', 0)] if kind == 'recv' else comp.get('counts', ()) if kind == 'coll' else ()
        if 'shm' in comp or (kind == 'coll' and is_shared_reference(counts)):
            from ._shared_memory import drop_shared
            drop_shared(self.read(counts[-1]))
            return
        for n in counts:
            self.skip(n)

    # -- calls ------------------------------------------------------------------------
    def call(self, bufs):
        """Write frames ending with one call; return its reply header (completions in it
        already handed to their requests)."""
        return self._roundtrip(bufs)

    def complete(self, bufs):
        """A wait/test call: every completion is handed to its request; returns them."""
        return self._roundtrip(bufs)['done']

    def _roundtrip(self, bufs):
        if self._lock is None:
            self.connect()
        with self._lock:
            count = _thread_count()
            if count != self._threads_seen:
                self._count_threads(count, bufs)
            k = self._calls
            self._calls = k + 1
            self._write(bufs)
        hdr = self._await(k)
        err = hdr.get('error')
        if err is not None:
            from ._errors import agent_error
            raise agent_error(err)
        return hdr

    def _count_threads(self, count, bufs):
        """Tell the agent how many threads of this rank could still act (the shim's own and
        those parked on a communicator lock not counted): it holds the rank blocked only
        while that many calls are. Counted when the number of threads changed since the last
        call, so a single-threaded rank says nothing. The caller holds the write lock."""
        self._threads_seen = count
        threading = sys.modules.get('threading')
        if threading is None:       # no thread but the main one and the shim's own (_stdio)
            users = 1 - self._parked
        else:
            users = -self._parked
            for t in threading.enumerate():     # the shim's thread is not among them
                if not t.name.startswith('mpiaas-'):
                    users += 1
        if users != self._threads_told:
            self._threads_told = users
            bufs.insert(0, frame(b'{"op":"threads","n":%d}' % max(users, 1)))

    def park(self, delta):
        """A thread starts (+1) or stops (-1) waiting for another thread's call to end (mpi4py
        4's per-communicator locks of recv, bcast...): while it waits it is as blocked as
        the call it waits behind, and the agent is told at once."""
        if self._lock is None:
            self.connect()
        with self._lock:
            self._parked += delta
            bufs = []
            self._count_threads(_thread_count(), bufs)
            if bufs:
                self._write(bufs)

    def _turn_condition(self):
        """What threads wait on for their reply or their turn to read; made when a thread
        first has to (a rank of one thread never does, and importing threading would cost
        every rank's start a few milliseconds). The caller holds _turn_lock."""
        turn = self._turn
        if turn is None:
            from threading import Condition
            turn = self._turn = Condition(self._turn_lock)
        return turn

    def _await(self, k):
        """The reply to call k: read by this thread if no other is reading, else handed over."""
        turn_lock = self._turn_lock
        answers = self._answers
        while True:
            with turn_lock:
                while True:
                    hdr = answers.pop(k, None)
                    if hdr is not None:
                        return hdr
                    if not self._reading:
                        self._reading = True
                        break
                    self._waiting += 1
                    self._turn_condition().wait()
                    self._waiting -= 1
            try:
                got, hdr = self._take_reply()
            except BaseException:
                self._stop_reading()
                raise
            with turn_lock:
                self._reading = False
                if got != k:
                    answers[got] = hdr
                if self._waiting:
                    self._turn_condition().notify_all()   # its owner, and someone to read on
            if got == k:
                return hdr

    def _take_reply(self):
        """Read one reply whole: completions go to their requests (payload into their
        buffers), the rest of the body is skipped. Returns (call number, header)."""
        return self._take(self.read_reply())

    def _take(self, hdr):
        """The rest of reply `hdr` read: every completion handed to its request (payload into
        its buffer), what is left of the body skipped. Returns (call number, header)."""
        done = hdr.get('done')
        if done is not None:
            pending = self.pending
            for comp in done:
                req = pending.pop(comp['req'], None)
                if req is None:     # freed before it completed: drop its bytes
                    self._drop(comp)
                    continue
                req._complete(comp, self)
        if self.body_left:
            self.skip(self.body_left)
        return hdr['k'], hdr


channel = Channel()

_WAIT_ONE = b'{"op":"wait","reqs":[%d],"mode":"all"}'


def wait_frames(ids, mode):
    """The frame of a wait call for these request ids."""
    if len(ids) == 1 and mode == 'all':
        return frame(_WAIT_ONE % ids[0])
    return frame(b'{"op":"wait","reqs":[%s],"mode":"%s"}' % (
        ','.join(map(str, ids)).encode(), mode.encode()))


def test_frames(ids, mode):
    return frame(b'{"op":"test","reqs":[%s],"mode":"%s"}' % (
        ','.join(map(str, ids)).encode(), mode.encode()))
