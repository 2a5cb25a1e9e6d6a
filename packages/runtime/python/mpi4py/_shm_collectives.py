"""Small blocking collectives among ranks of one agent, met in shared memory.

Why: through the agent a small collective costs every rank a socket round trip and the agent a
wakeup per rank (bench:cpu: ~300 µs per Allreduce of 8 B at np 4 on 2 cores); ranks meeting in
memory they share, as Open MPI's ranks on one node do, need no agent and no system call on the
way when none of them sleeps (bench/shm_allreduce.py: a few µs). On by default on x86-64;
MPI4PY_SHM_COLLECTIVES=0 sends every collective through the agent.

What the agent's path gives holds here too (PROTOCOL.md, "Collectives in shared memory"):
- a member that sleeps tells its agent it is parked in the collective (and when it leaves),
  so deadlock detection counts it blocked and asks it where it is (it answers stack requests
  between futex sleeps);
- members that called different collectives fail the job with the description the agent
  gives, whether they all came here or some went to the agent with a collective the others
  call here (each member counts here the collectives it starts through the agent);
- a small Bcast's (and Scatter's) root returns at once, as through the agent (and as Open
  MPI's eager protocol lets it), up to BANKS - 1 calls ahead of the slowest member; so do a
  Reduce's and a Gather's other members.

The calls met here: Barrier, Bcast, Reduce, Allreduce, Scan, Exscan, Gather, Scatter,
Allgather and Alltoall of buffers of base types (not the v-variants, whose members' sizes
differ, nor the nonblocking ones), the lower-case bcast and allgather (so allreduce...);
anything else, and anything over CAPACITY bytes a member, goes through the agent.

The segment of a communicator is a file in the job's shared-memory folder (the agent's hello
`shm`), `.mpiaas-c-<ctx in hex>`, mapped by each member on its first call, here or through
the agent:

    per member, _SLOT bytes:  seq (i8: the last call it published), wake (i4: its futex word),
                              asleep (i4), agents (i8: collectives it started through the
                              agent), mapped (i4), the last _RING of those described
                              (each: its number i8, i4 length, text)
    BANKS banks, per member:  length (i8), call (i4), root (i4), agents (i8), the call as
                              the user made it (i4 length + name NUL script:line), up to
                              CAPACITY bytes of data

Call `seq` (counted per communicator, the same on every member): write the contribution into
bank seq % BANKS, then the seq word; wake the members asleep; wait until every seq word (a
Bcast: the root's) reaches seq, and read the bank. A member writes bank seq % BANKS only once
every member has published seq - BANKS + 1, that is has read what it needed of seq - BANKS.
Stores reach other cores in program order on x86-64 (TSO) only: elsewhere this stays off.
"""

import os
import sys
from _struct import Struct
from _thread import allocate_lock
from time import perf_counter_ns

from ._callsite import call_site
from ._channel import channel, frame
from ._collective_results import ViewReader

CAPACITY = 1024                 # bytes of one member's contribution (small calls only)
BANKS = 4                       # calls a Bcast's root may be ahead of the slowest member, + 1
_SPIN_NS = 50 * 1000            # spin (yielding) this long before sleeping on the futex
_WAIT_NS = 100 * 1000 * 1000    # each futex sleep at most this long (then look again)
# A member that sleeps longer than this tells its agent it is parked (for deadlock reports and
# stack requests); a shorter sleep, most of them, costs the agent nothing
_PARK_AFTER_NS = 2 * 1000 * 1000

# a member's slot
_SLOT = 512
_SEQ, _WAKE, _ASLEEP, _AGENTS, _MAPPED, _DESCS = 0, 8, 12, 16, 24, 32
_RING = 4
_DESC = (_SLOT - _DESCS) // _RING       # number, length, text
_DESC_MAX = _DESC - 12
# an entry of a bank
_HEAD = 96
_SITE = 24
_SITE_MAX = _HEAD - _SITE - 4
_ENTRY = _HEAD + CAPACITY

_I8 = Struct('<q')
_I4 = Struct('<i')
_ENTRY_HEAD = Struct('<qiiqi')  # length, call, root, agents, call site's length
_CALL = Struct('<iiq')          # call, root, agents

# the calls that may meet here, by their code in a contribution
BARRIER, ALLREDUCE, SCAN, EXSCAN, BCAST, REDUCE = 1, 2, 3, 4, 5, 6
OBJ_BCAST, OBJ_ALLGATHER = 7, 9     # lower-case calls, of pickles
GATHER, SCATTER, ALLGATHER, ALLTOALL = 10, 11, 12, 13
_NAMES = {BARRIER: 'Barrier', ALLREDUCE: 'Allreduce', SCAN: 'Scan', EXSCAN: 'Exscan', BCAST: 'Bcast',
          REDUCE: 'Reduce', OBJ_BCAST: 'bcast', OBJ_ALLGATHER: 'allgather', GATHER: 'Gather',
          SCATTER: 'Scatter', ALLGATHER: 'Allgather', ALLTOALL: 'Alltoall'}
_FUTEX_WAIT, _FUTEX_WAKE = 0, 1
_EAGAIN, _ETIMEDOUT = 11, 110   # x86-64 Linux: woken before sleeping; slept the whole time
_SYS_FUTEX = 202                # x86-64
_ALL = -1

_state = {'enabled': None, 'futex': None, 'segments': {}}


def enabled():
    """Whether small collectives may meet in shared memory (x86-64, not turned off)."""
    on = _state['enabled']
    if on is None:
        on = (os.environ.get('MPI4PY_SHM_COLLECTIVES', '1') != '0'
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


def verify_all():
    """At Finalize: each segment's last eager call compared, as far as the others are there."""
    for seg in _state['segments'].values():
        if seg is not None and seg.unverified:
            seg.verify()


def Parts(parts):
    """The members' contributions, read by a collective's result handler as a reply body."""
    return ViewReader(memoryview(b''.join(parts)))


def forget(ctx):
    """The communicator was freed: its mapping goes, and its file once every member has
    mapped it, so a program that makes and frees communicators in a loop leaves none behind.
    Not before: a bcast's root returns at once and a non-root once the root has published,
    and either may free the communicator before another member has come to its first call
    there, which would then make a new file of the same name and wait in it alone. A file
    left so goes with the job's folder."""
    seg = _state['segments'].pop(ctx, None)
    if seg is not None:
        everyone = all(seg.mapped.unpack_from(seg.view, 0))
        seg.close()
        if everyone:
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
        timeouts = {ns: (ctypes.c_long * 2)(0, ns) for ns in (_PARK_AFTER_NS, _WAIT_NS)}

        def fn(address, op, value, timeout_ns=_WAIT_NS):
            """The syscall's result, or -errno."""
            result = syscall(_SYS_FUTEX, ctypes.c_void_p(address), op, value,
                             timeouts[timeout_ns] if op == _FUTEX_WAIT else None, None, 0)
            return -ctypes.get_errno() if result == -1 else result
        _state['futex'] = fn
    return fn


# A full memory fence: taking an uncontended lock is a locked read-modify-write, which x86-64
# orders with every load and store around it. A member going to sleep and a member waking it
# each fence between their store and their load (Dekker), so one of them sees the other's.
_fence_lock = allocate_lock()


def _fence():
    _fence_lock.acquire()
    _fence_lock.release()


def _described(name, root, at):
    """A call as the agent names it in a mismatch: `bcast (root 0) at pi.py:4`."""
    return '%s%s%s' % (name, '' if root < 0 else ' (root %d)' % root, ' at ' + at if at else '')


class Segment:
    """One communicator's shared memory, as member `me` of `size` maps it."""

    def __init__(self, path, size, me, ctx='', group=None, tell=None, serve=None):
        """tell(header): a one-way frame to the agent; serve(): answer its stack requests
        (by default the channel's; a test's own)."""
        self.path, self.size, self.me = path, size, me
        self.seq = 0            # the last call this member published
        self.agents = 0         # collectives it started through the agent on the communicator
        self.synced = 0         # every member has published at least this call
        self.unverified = 0     # an eager call of this member's whose entries nobody compared
        self.tell = tell or _tell_agent
        self.serve = serve or _serve_stack_requests
        self.ctx, self.group = ctx, tuple(range(size)) if group is None else tuple(group)
        import mmap     # here, not at import: a rank that never meets here does without it
        length = size * (_SLOT + BANKS * _ENTRY)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0), 0o600)
        try:
            if os.fstat(fd).st_size < length:
                os.ftruncate(fd, length)    # every member asks for the same length: no harm
            self.map = mmap.mmap(fd, length)
        finally:
            os.close(fd)
        self.view = view = memoryview(self.map)
        import ctypes
        base = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self.wake_addresses = [base + i * _SLOT + _WAKE for i in range(size)]
        self.banks = size * _SLOT
        # every member's seq word in one unpack (its asleep and mapped words likewise)
        self.seqs = Struct('<' + ('q%dx' % (_SLOT - 8)) * size)
        self.asleep = Struct('<' + ('%dxi%dx' % (_ASLEEP, _SLOT - _ASLEEP - 4)) * size)
        self.mapped = Struct('<' + ('%dxi%dx' % (_MAPPED, _SLOT - _MAPPED - 4)) * size)
        self.others = [m for m in range(size) if m != me]
        # per bank: where it starts, and where this member's entry is
        self.bank_at = [self.banks + bank * size * _ENTRY for bank in range(BANKS)]
        self.mine = [at + me * _ENTRY for at in self.bank_at]
        # the heads (length, call, root, agents) of every member's entry of a bank in one unpack
        self.heads = Struct('<' + ('qiiq%dx' % (_ENTRY - 24)) * (size - 1) + 'qiiq')
        _I4.pack_into(view, me * _SLOT + _MAPPED, 1)

    def close(self):
        self.view.release()
        try:
            self.map.close()
        except BufferError:         # a view still exported: the mapping goes with the process
            pass

    def _entry(self, seq, member):
        return self.bank_at[seq % BANKS] + member * _ENTRY

    # -- the calls ------------------------------------------------------------------------
    def exchange(self, data, call=ALLREDUCE, root=-1):
        """Publish `data` (bytes-like, at most CAPACITY) for this call (its code, and a
        bcast's root) and return every member's contribution, by member, once all have
        published theirs. data None: this member's is too large to meet here; its place in
        the list is None, and the call then goes through the agent on every member."""
        seq = self._publish(data, call, root)
        view = self.view
        sent = 0 if data is None else len(data)
        if min(self.seqs.unpack_from(view, 0)) < seq:
            started = perf_counter_ns()
            self._wait(seq, _ALL, call, root)
            _count(sent, perf_counter_ns() - started)
        else:
            _count(sent, 0)
        self.synced = seq
        at = self.bank_at[seq % BANKS]
        heads = self.heads.unpack_from(view, at)
        if not self._agree(heads, call, root, self.agents):
            self._mismatch(seq, call, root)
        at += _HEAD
        out = []
        for n in heads[::4]:
            out.append(view[at:at + n].tobytes() if n >= 0 else None)
            at += _ENTRY
        return out

    def bcast(self, data, root, call=BCAST):
        """A bcast of at most CAPACITY bytes: the root publishes `data` and returns None at
        once; another member returns the root's data once the root has published it. The
        root's data None: too large to meet here (a pickle's size is the root's to know); the
        others return None, and all go through the agent."""
        if self.me == root:
            seq = self._publish(data, call, root)
            _count(0 if data is None else len(data), 0)
            self.unverified = seq   # compared with the others' entries later (verify)
            return None
        seq = self._publish(b'', call, root)      # (data: only the root's counts)
        started = perf_counter_ns()
        self._wait(seq, root, call, root)
        _count(0, perf_counter_ns() - started)
        at = self._entry(seq, root)
        if _CALL.unpack_from(self.view, at + 8) != (call, root, self.agents):
            self._mismatch(seq, call, root)
        n = _I8.unpack_from(self.view, at)[0]
        return bytes(self.view[at + _HEAD:at + _HEAD + n]) if n >= 0 else None

    def gather(self, data, root, call=GATHER):
        """A Gather's (or a Reduce's) contributions: a non-root publishes `data` and returns
        None at once, as a gather's non-root does through the agent (and Open MPI's leaves of
        a small reduce); the root returns every member's once all have published."""
        if self.me != root:
            seq = self._publish(data, call, root)
            _count(len(data), 0)
            self.unverified = seq   # compared with the others' entries later (verify)
            return None
        return self.exchange(data, call, root)

    def verify(self):
        """Compare this member's last eager call (a bcast's root, a reduce's non-root) with
        the others' entries, if all are there, once: at its next call here, before publishing
        it, or at Finalize. Members that disagree on the root, each returning at once, are
        otherwise a mismatch nobody sees; of two such, the one that comes second sees the
        other's entry (each publishes before it looks, fenced). Only then: bank seq % BANKS is
        written again for seq + BANKS, which waits for this member to publish seq + 1, and no
        longer."""
        seq, self.unverified = self.unverified, 0
        if seq and min(self.seqs.unpack_from(self.view, 0)) >= seq:
            heads = self.heads.unpack_from(self.view, self.bank_at[seq % BANKS])
            call, root, agents = heads[1:4]
            if not self._agree(heads, call, root, agents):
                self._mismatch(seq, call, root)

    def _agree(self, heads, call, root, agents):
        """Whether every member's entry of a bank (its heads, one unpack) names this call,
        root and count of collectives through the agent."""
        size = self.size
        return heads[1::4].count(call) == size and heads[2::4].count(root) == size and \
            heads[3::4].count(agents) == size

    def agent_call(self, name, root, at):
        """This member starts a collective on the communicator through the agent (its name
        and script line as bytes, its root or None): counted where the others see it, with its
        description for a mismatch's report."""
        view, slot = self.view, self.me * _SLOT
        text = _described(name.decode(), -1 if root is None else root,
                          at.decode() if at else '').encode()[:_DESC_MAX]
        self.agents = number = self.agents + 1
        at = slot + _DESCS + (number % _RING) * _DESC
        _I8.pack_into(view, at, number)
        _I4.pack_into(view, at + 8, len(text))
        view[at + 12:at + 12 + len(text)] = text
        _I8.pack_into(view, slot + _AGENTS, number)

    def _agent_call_described(self, member, number):
        """How member's collective number `number` through the agent was described, if its
        slot still holds it."""
        view = self.view
        at = member * _SLOT + _DESCS + (number % _RING) * _DESC
        if _I8.unpack_from(view, at)[0] != number:
            return 'a collective through the agent'
        n = _I4.unpack_from(view, at + 8)[0]
        return bytes(view[at + 12:at + 12 + n]).decode(errors='replace')

    # -- publishing and waiting ---------------------------------------------------------
    def _publish(self, data, call, root):
        if self.unverified:
            self.verify()
        seq = self.seq + 1
        if self.synced <= seq - BANKS:
            # the bank's last use, call seq - BANKS, may still be read (after eager Bcasts)
            self._wait(seq - BANKS + 1, _ALL, call, root, seq)
            self.synced = min(self.seqs.unpack_from(self.view, 0))
        self.seq = seq
        view = self.view
        at = self.mine[seq % BANKS]
        if data is None:
            n = -1                  # too large: the call goes through the agent
        else:
            n = len(data)
            view[at + _HEAD:at + _HEAD + n] = data
        name, site = call_site()
        if site is None:
            _ENTRY_HEAD.pack_into(view, at, n, call, root, self.agents, 0)
        else:
            site = (name + b'\0' + site)[:_SITE_MAX]
            _ENTRY_HEAD.pack_into(view, at, n, call, root, self.agents, len(site))
            view[at + _SITE + 4:at + _SITE + 4 + len(site)] = site
        _I8.pack_into(view, self.me * _SLOT + _SEQ, seq)
        # wake the members asleep: our seq word before their asleep words (see _wait)
        _fence()
        asleep = self.asleep.unpack_from(view, 0)
        if any(asleep):
            token = (seq * self.size + self.me) & 0x7fffffff
            for other in self.others:
                if asleep[other]:
                    _I4.pack_into(view, other * _SLOT + _WAKE, token)
                    _futex()(self.wake_addresses[other], _FUTEX_WAKE, 1)
        return seq

    def _reached(self, seq, member):
        if member == _ALL:
            return min(self.seqs.unpack_from(self.view, 0)) >= seq
        return _I8.unpack_from(self.view, member * _SLOT + _SEQ)[0] >= seq

    def _wait(self, seq, member, call, root, current=None):
        """Until every member (or `member`) has published call `seq`; `current`: the call
        this member is in (seq, unless it waits for a bank)."""
        if self._reached(seq, member):
            return
        current = seq if current is None else current
        until = perf_counter_ns() + _SPIN_NS
        while perf_counter_ns() < until:
            os.sched_yield()
            if self._reached(seq, member):
                return
        self._check_agents(current, call, root)
        futex, view = _futex(), self.view
        address, wake, asleep = self.wake_addresses[self.me], self.me * _SLOT + _WAKE, self.me * _SLOT + _ASLEEP
        _I4.pack_into(view, asleep, 1)
        parked = False
        try:
            while True:
                token = _I4.unpack_from(view, wake)[0]
                _fence()            # our asleep word before their seq words (see _publish)
                if self._reached(seq, member):
                    break
                slept = futex(address, _FUTEX_WAIT, token, _WAIT_NS if parked else _PARK_AFTER_NS)
                if slept != 0 and slept != -_EAGAIN:
                    # woken by the timeout (or a signal), not by a member
                    if not parked and slept == -_ETIMEDOUT:
                        # blocked from here, for the agent's deadlock detection, as in its calls
                        self.tell(self._park(call, root))
                        parked = True
                    self.serve()
                    self._check_agents(current, call, root)
        finally:
            _I4.pack_into(view, asleep, 0)
        if parked:
            self.tell({'op': 'unpark'})

    def _park(self, call, root):
        park = {'op': 'park', 'ctx': self.ctx, 'name': _NAMES.get(call, '?')}
        if root >= 0:
            park['root'] = root
        return park

    # -- mismatches ---------------------------------------------------------------------
    def _check_agents(self, seq, call, root):
        """A member that started more collectives through the agent than this one, and did
        so before publishing call `seq`, called something else than this call: a mismatch
        (in a correct program it would have published seq first: its agents count is
        read before its seq word, and written after it)."""
        view = self.view
        for member in self.others:
            slot = member * _SLOT
            if _I8.unpack_from(view, slot + _AGENTS)[0] > self.agents and \
                    _I8.unpack_from(view, slot + _SEQ)[0] < seq:
                self._mismatch(seq, call, root)

    def _mismatch(self, seq, call, root):
        """The members called different collectives: the job fails, described as the agent
        describes it (collective-rendezvous.ts), each member's call with its script line; this
        rank waits for its end. Where members went through the agent different numbers of
        times before this call, the first call that differs is the collective through the
        agent after the fewest any of them made (`base`): those that made more are named by
        that one, the others by this call. The collective's number counts those met here and
        through the agent."""
        view, counts = self.view, {}
        for member in range(self.size):
            slot = member * _SLOT
            if member == self.me and self.seq < seq:
                counts[member] = self.agents
            elif _I8.unpack_from(view, slot + _SEQ)[0] >= seq:
                counts[member] = _ENTRY_HEAD.unpack_from(view, self._entry(seq, member))[3]
            else:
                live = _I8.unpack_from(view, slot + _AGENTS)[0]
                if live > self.agents:
                    counts[member] = live   # in a collective through the agent instead
        base, calls = min(counts.values()), []
        for member, count in sorted(counts.items()):
            if count > base:
                text = self._agent_call_described(member, base + 1)
            elif member == self.me and self.seq < seq:
                name, site = call_site()
                text = _described(name.decode() if name else _NAMES.get(call, '?'), root,
                                  site.decode() if site else '')
            else:
                at = self._entry(seq, member)
                their_call, their_root = _CALL.unpack_from(view, at + 8)[:2]
                n = _I4.unpack_from(view, at + _SITE)[0]
                name, _, site = bytes(view[at + _SITE + 4:at + _SITE + 4 + n]).decode(errors='replace').partition('\0')
                text = _described(name or _NAMES.get(their_call, '?'), their_root, site)
            calls.append('rank %d called %s' % (self.group[member], text))
        where = 'COMM_WORLD' if self.ctx == 'w' else 'communicator %s' % self.ctx
        self.tell({'op': 'mismatch', 'text': 'collective mismatch on %s (collective #%d): %s'
                   % (where, seq + base, ', '.join(calls))})
        from time import sleep
        while True:
            sleep(1)
