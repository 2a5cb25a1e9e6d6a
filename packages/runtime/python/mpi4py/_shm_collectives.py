"""Small blocking collectives among ranks of one agent, met in shared memory (opt-in).

Why: through the agent a small collective costs every rank a socket round trip and the agent a
wakeup per rank (bench:cpu: ~300 µs per Allreduce of 8 B at np 4 on 2 cores); ranks meeting in
memory they share, as Open MPI's ranks on one node do, need no agent and no system call on the
way when none of them sleeps (bench/shm_allreduce.py: a few µs).

What the agent's path gives holds here too: a member that sleeps tells its agent it is parked
in the collective (and when it leaves), so deadlock detection counts it blocked and asks it
where it is (it answers stack requests between futex sleeps); members that called different
collectives fail the job with the same description the agent gives. Opt-in with
MPI4PY_SHM_COLLECTIVES=1.

The segment of a communicator is a file in the job's shared-memory folder (the agent's hello
`shm`), `.mpiaas-c-<ctx in hex>`, mapped by each member on its first call:

    per member i, 64 bytes:  seq (i8: the last call it published)  wake (i4: its futex word)
    two banks, per member:   length (i8), call (i4), root (i4), up to CAPACITY bytes of data

Call `seq` (counted per communicator, the same on every member): write the contribution into
bank seq % 2, then the seq word; then every member's wake word gets a new value and a
FUTEX_WAKE (a member may sleep on it). Wait until every seq word reaches seq (sched_yield
while spinning, then FUTEX_WAIT on one's own wake word, which cannot miss a wake: the kernel
compares the word under the lock FUTEX_WAKE takes), and read every bank. Two banks suffice:
a member writes bank seq % 2 again only for seq + 2, after all have published seq + 1, that
is after all have read seq. Stores reach other cores in program order on x86-64 (TSO) only:
elsewhere this stays off.
"""

import os
import sys
from _struct import Struct
from time import perf_counter_ns

from ._channel import channel, frame
from ._collective_results import ViewReader

CAPACITY = 1024                 # bytes of one member's contribution (small calls only)
_SLOT = 64
_HEAD = 16                      # length, call, root
_BANK_ENTRY = _HEAD + CAPACITY
_SPIN_NS = 50 * 1000            # spin (yielding) this long before sleeping on the futex
_WAIT_NS = 100 * 1000 * 1000    # each futex sleep at most this long (then look again)

_I8 = Struct('<q')
_I4 = Struct('<i')
_CALL = Struct('<ii')

# the calls that may meet here, by their code in a contribution
BARRIER, ALLREDUCE, SCAN, EXSCAN, BCAST = 1, 2, 3, 4, 5
_NAMES = {BARRIER: 'Barrier', ALLREDUCE: 'Allreduce', SCAN: 'Scan', EXSCAN: 'Exscan', BCAST: 'Bcast'}
_FUTEX_WAIT, _FUTEX_WAKE = 0, 1
_SYS_FUTEX = 202                # x86-64

_state = {'enabled': None, 'futex': None, 'segments': {}}


def enabled():
    """Whether small collectives may meet in shared memory (asked, x86-64, a folder offered)."""
    on = _state['enabled']
    if on is None:
        on = (os.environ.get('MPI4PY_SHM_COLLECTIVES') == '1'
              and os.uname().machine == 'x86_64')
        _state['enabled'] = on
    return on


def segment_for(comm):
    """The communicator's segment, or None when not every member is on this agent (or no
    folder was offered)."""
    segments = _state['segments']
    seg = segments.get(comm._ctx)
    if seg is None and comm._ctx not in segments:
        from ._shared_memory import _offered
        folder, local = _offered()
        if folder is None or any(r not in local for r in comm._group):
            seg = None
        else:
            seg = Segment(os.path.join(folder, '.mpiaas-c-' + comm._ctx.encode().hex()),
                          comm._size, comm._rank, comm._ctx, comm._group)
        segments[comm._ctx] = seg
    return seg


def Parts(parts):
    """The members' contributions, read by a collective's result handler as a reply body."""
    return ViewReader(memoryview(b''.join(parts)))


def forget(ctx):
    """The communicator was freed (by all its members: Free is collective, and each member
    that met there opened the file before the call completed): its mapping and its file go,
    so a program that makes and frees communicators in a loop leaves none behind."""
    seg = _state['segments'].pop(ctx, None)
    if seg is not None:
        seg.close()
        try:
            os.unlink(seg.path)
        except OSError:         # another member's unlink came first
            pass


def _count(sent, waited_ns):
    """For the rank's profile (_profile): the bytes it contributed, as _comm counts what it
    frames, and how long it waited for the last member, as the agent's `w` tells it."""
    channel.payload_sent += sent
    profile = sys.modules.get('mpi4py._profile')
    if profile is not None:
        profile._waited[0] += waited_ns


def _tell_agent(header):
    """A one-way frame to the agent, written now (a park must be seen while the rank sleeps)."""
    from json import dumps
    channel.write([frame(dumps(header, separators=(',', ':')).encode())])


def _serve_stack_requests():
    channel.serve_stack_requests()


def _futex():
    fn = _state['futex']
    if fn is None:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        timeout = (ctypes.c_long * 2)(0, _WAIT_NS)

        def fn(address, op, value):
            return syscall(_SYS_FUTEX, ctypes.c_void_p(address), op, value,
                           timeout if op == _FUTEX_WAIT else None, None, 0)
        _state['futex'] = fn
    return fn


class Segment:
    """One communicator's shared memory, as member `me` of `size` maps it."""

    def __init__(self, path, size, me, ctx='', group=None, tell=None, serve=None):
        """tell(header): a one-way frame to the agent; serve(): answer its stack requests
        (by default the channel's; a test's own)."""
        self.path, self.size, self.me, self.seq = path, size, me, 0
        self.tell = tell or _tell_agent
        self.serve = serve or _serve_stack_requests
        self.ctx, self.group = ctx, tuple(range(size)) if group is None else tuple(group)
        import mmap     # here, not at import: a rank that never meets here does without it
        length = size * (_SLOT + 2 * _BANK_ENTRY)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), 0o600)
        try:
            if os.fstat(fd).st_size < length:
                os.ftruncate(fd, length)    # every member asks for the same length: no harm
            self.map = mmap.mmap(fd, length)
        finally:
            os.close(fd)
        self.view = memoryview(self.map)
        import ctypes
        base = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self.wake_addresses = [base + i * _SLOT + 8 for i in range(size)]
        self.banks = size * _SLOT

    def close(self):
        self.view.release()
        try:
            self.map.close()
        except BufferError:         # a view still exported: the mapping goes with the process
            pass

    def _entry(self, seq, member):
        return self.banks + ((seq & 1) * self.size + member) * _BANK_ENTRY

    def exchange(self, data, call=ALLREDUCE, root=-1):
        """Publish `data` (bytes-like, at most CAPACITY) for this call (its code, and a
        bcast's root) and return every member's contribution, by member, once all have
        published theirs."""
        self.seq = seq = self.seq + 1
        view, me, size = self.view, self.me, self.size
        at = self._entry(seq, me)
        n = len(data)
        view[at + _HEAD:at + _HEAD + n] = data
        _I8.pack_into(view, at, n)
        _CALL.pack_into(view, at + 8, call, root)
        _I8.pack_into(view, me * _SLOT, seq)
        futex = _futex()
        token = (seq * size + me) & 0x7fffffff
        for other in range(size):
            if other != me:
                _I4.pack_into(view, other * _SLOT + 8, token)
                futex(self.wake_addresses[other], _FUTEX_WAKE, 1)
        started = perf_counter_ns()
        self._wait_all(seq, call, root)
        _count(n, perf_counter_ns() - started)
        out = []
        for member in range(size):
            at = self._entry(seq, member)
            n = _I8.unpack_from(view, at)[0]
            if _CALL.unpack_from(view, at + 8) != (call, root):
                self._mismatch(seq)
            out.append(bytes(view[at + _HEAD:at + _HEAD + n]))
        return out

    def _mismatch(self, seq):
        """The members called different collectives: the job fails, described as the agent
        describes it (collective-rendezvous.ts); this rank waits for its end."""
        calls = []
        for member in range(self.size):
            call, root = _CALL.unpack_from(self.view, self._entry(seq, member) + 8)
            calls.append('rank %d called %s%s' % (self.group[member], _NAMES.get(call, '?'),
                                                  '' if root < 0 else ' (root %d)' % root))
        where = 'COMM_WORLD' if self.ctx == 'w' else 'communicator %s' % self.ctx
        self.tell({'op': 'mismatch', 'text': 'collective mismatch on %s (collective #%d): %s'
                     % (where, seq, ', '.join(calls))})
        from time import sleep
        while True:
            sleep(1)

    def _complete(self, seq):
        view = self.view
        for member in range(self.size):
            if _I8.unpack_from(view, member * _SLOT)[0] < seq:
                return False
        return True

    def _wait_all(self, seq, call, root):
        if self._complete(seq):
            return
        until = perf_counter_ns() + _SPIN_NS
        while perf_counter_ns() < until:
            os.sched_yield()
            if self._complete(seq):
                return
        # asleep from here: as blocked, for the agent's deadlock detection, as in its calls
        park = {'op': 'park', 'ctx': self.ctx, 'name': _NAMES.get(call, '?')}
        if root >= 0:
            park['root'] = root
        self.tell(park)
        futex, address, at = _futex(), self.wake_addresses[self.me], self.me * _SLOT + 8
        while True:
            token = _I4.unpack_from(self.view, at)[0]
            if self._complete(seq):
                break
            if futex(address, _FUTEX_WAIT, token) != 0:
                self.serve()            # woken by the timeout (or a signal)
        self.tell({'op': 'unpark'})
