"""Where the result of a collective goes.

The agent answers a collective with one part per rank (or one part, for bcast/scatter); a
collective's request (`_request.CollRequest`) hands them to a handler `handler(counts,
ch)` that reads exactly sum(counts) bytes from the channel `ch` and returns the call's
value.  The handlers here cover every collective of `_comm`: drop the parts, unpickle
them, land them in the user's buffer (whole, or per-rank slots), or fold them with an op.
"""

from ._errors import Exception as MPIException, ERR_TRUNCATE
from ._request import _unpickle
from ._ops import fold_buffers
from ._derived import drop_owed


class ViewReader:
    """Result parts already in memory (a file mapped, the members' contributions met in
    shared memory), read by the handlers here as they read a reply body from the channel."""

    def __init__(self, view):
        self._view = view
        self._at = 0

    def read(self, n):
        at = self._at
        self._at = at + n
        return self._view[at:at + n].tobytes()

    def readinto(self, dst):
        at, n = self._at, len(dst)
        dst[:] = self._view[at:at + n]
        self._at = at + n

    def skip(self, n):
        self._at += n


def discard(counts, ch):
    """Nothing for this rank (a barrier, a non-root of gather/reduce, the root's own
    scatter in place): skip the parts."""
    for c in counts:
        if c:
            ch.skip(c)
    return None


def load_one(counts, ch):
    return _unpickle(ch.read(counts[0]))


def load_all(counts, ch):
    read = ch.read
    return [_unpickle(read(c)) for c in counts]


def into_one(dst):
    """The one part lands in dst (a writable byte view); a longer part is ERR_TRUNCATE
    after dst is filled and the rest skipped, so the channel stays in step."""
    def handler(counts, ch):
        n = counts[0]
        if n > len(dst):
            ch.readinto(dst)
            ch.skip(n - len(dst))
            raise MPIException(ERR_TRUNCATE)
        ch.readinto(dst[:n] if n < len(dst) else dst)
    return handler


def is_shared_reference(counts):
    """Whether a bcast's result parts stand for a file (_shared_memory): an empty part, then
    the reference (the agent's collective-results.ts isSharedReference)."""
    return len(counts) == 2 and not counts[0]


def shared_or(handler):
    """A bcast receiver's handler: the root's data from the channel, or from the file its
    reference names (_shared_memory) when it left one."""
    def on_result(counts, ch):
        if is_shared_reference(counts):
            from ._shared_memory import read_shared
            return read_shared(ch.read(counts[1]), handler)
        return handler(counts, ch)
    return on_result


def into_slots(slots):
    """Part i lands in slots[i] (per-rank views of the receive buffer)."""
    def handler(counts, ch):
        bad = False
        for dst, n in zip(slots, counts):
            if n > len(dst):
                ch.readinto(dst)
                ch.skip(n - len(dst))
                bad = True
            elif n:
                ch.readinto(dst[:n] if n < len(dst) else dst)
        if bad:
            raise MPIException(ERR_TRUNCATE)
    return handler


def fold_into(op, out, dt, count, upto, kind=None):
    """Reduction handler: read the parts (in rank order) into one scratch buffer, then fold
    parts[:upto] (all when upto is None) into out; upto == 0 (Exscan at rank 0) leaves out
    untouched.  kind: see fold_buffers."""
    nbytes = count * dt._extent

    def handler(counts, ch):
        if len(counts) == 1 and counts[0] == nbytes and upto is None and len(out) >= nbytes:
            # the result itself: the agent folded (_agent_fold), or the only member's part
            ch.readinto(out[:nbytes])
            return None
        total = 0
        for c in counts:
            total += c
        scratch = bytearray(total)
        ch.readinto(memoryview(scratch))
        for c in counts:
            if c != nbytes:
                bad_counts(c // max(dt._extent, 1), count)
        k = len(counts) if upto is None else upto
        if k <= 0:
            return None
        fold_buffers(op, memoryview(scratch)[:k * nbytes], out, dt, count, kind)
        return None
    return handler


def bad_counts(scount, rcount):
    """A contribution whose size does not match the receive (mpi4py's ValueError)."""
    drop_owed()
    raise ValueError('mismatch in send count %d and receive count %d' % (scount, rcount))
