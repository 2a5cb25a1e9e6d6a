"""Per-call MPI profile of this rank (IPM/mpiP-like), sent to the agent at Finalize.

Installed at `from mpi4py import MPI`: every public communicating method (point to point,
collectives, probes, waits and tests, persistent starts, matched receives, Split...) is
wrapped by a timer that adds, per name *as the user called it* (`Bcast`, `bcast`, `reduce`):
calls, payload bytes this rank sent, nanoseconds in the call, and the part of them the
agent says the rank waited for the last member of a collective to arrive (`w`, µs, in coll
completions); plus a log2 histogram of per-call times (for Prometheus). A call made inside
another profiled call (`reduce` = `gather` + fold, `Split` = `allgather`) is counted once,
under the outer name. Wall time runs from the import of mpi4py.MPI (MPI_Init, as IPM
counts) to Finalize.

Bytes sent are counted by _comm as it frames a message or a contribution
(`channel.payload_sent`): parsing every write's frames for their bodies, as this module
once did, cost 1.6 µs of the 23 µs an Allreduce takes the shim without waiting.

Cost: two perf_counter_ns calls and a few list updates per call, a dict lookup per
completion (wait); measured by `npm run bench:profile` (bench/profile_ab.py).
`MPIAAS_PROFILE=0` in a rank's environment turns it off.
"""

import os
from sys import _getframe
from time import perf_counter_ns as _ns

from ._channel import Channel, channel, frame

_T0 = _ns()
# name -> [calls, bytes sent, ns in the call, ns waiting for the last arrival, {log2 ns: calls}]
stats = {}
# [wait ns reported by the agent] since the start
_waited = [0]
from _thread import get_ident
from ._callsite import current  # thread ident -> the profiled call it is in (a nested one
                                # is not counted separately)

COMM_OPS = (
    # point to point
    'Send', 'Bsend', 'Rsend', 'Ssend', 'Recv', 'Isend', 'Ibsend', 'Irsend', 'Issend', 'Irecv',
    'Sendrecv', 'Sendrecv_replace', 'Isendrecv', 'Isendrecv_replace', 'send', 'bsend',
    'ssend', 'recv', 'isend', 'ibsend', 'issend', 'irecv', 'sendrecv',
    'Probe', 'Iprobe', 'probe', 'iprobe', 'Mprobe', 'Improbe', 'mprobe', 'improbe',
    # collectives
    'barrier', 'Barrier', 'Ibarrier', 'bcast', 'gather', 'scatter', 'allgather', 'alltoall',
    'reduce', 'allreduce', 'scan', 'exscan',
    'Bcast', 'Ibcast', 'Gather', 'Igather', 'Gatherv', 'Igatherv', 'Scatter', 'Iscatter',
    'Scatterv', 'Iscatterv', 'Allgather', 'Iallgather', 'Allgatherv', 'Iallgatherv',
    'Alltoall', 'Ialltoall', 'Alltoallv', 'Ialltoallv', 'Alltoallw', 'Ialltoallw',
    'Reduce', 'Ireduce', 'Allreduce', 'Iallreduce', 'Reduce_scatter_block',
    'Ireduce_scatter_block', 'Reduce_scatter', 'Ireduce_scatter', 'Scan', 'Iscan', 'Exscan',
    'Iexscan',
    # communicators that communicate to be made
    'Split', 'Split_type',
)
REQUEST_OPS = (
    'Wait', 'Test', 'wait', 'test', 'Waitall', 'waitall', 'Testall', 'testall', 'Waitany',
    'waitany', 'Testany', 'testany', 'Waitsome', 'Testsome', 'waitsome', 'testsome',
    'Start', 'Startall',
)
MESSAGE_OPS = ('Recv', 'Irecv', 'recv', 'irecv')


def _record(name, dt, sent, waited):
    rec = stats.get(name)
    if rec is None:
        rec = stats[name] = [0, 0, 0, 0, {}]
    rec[0] += 1
    rec[1] += sent
    rec[2] += dt
    rec[3] += waited
    hist = rec[4]
    b = dt.bit_length()
    hist[b] = hist.get(b, 0) + 1


def timed(name, fn):
    """fn, timed under `name` (outermost profiled call only)."""
    waited = _waited
    ch = channel
    where = current
    bname = name.encode()

    def profiled(*args, **kwargs):
        me = get_ident()
        if me in where:
            return fn(*args, **kwargs)
        where[me] = (bname, _getframe(1))
        s0 = ch.payload_sent
        w0 = waited[0]
        t0 = _ns()
        try:
            return fn(*args, **kwargs)
        finally:
            dt = _ns() - t0
            del where[me]
            _record(name, dt, ch.payload_sent - s0, waited[0] - w0)

    profiled.__name__ = getattr(fn, '__name__', name)
    profiled.__qualname__ = getattr(fn, '__qualname__', name)
    profiled.__doc__ = getattr(fn, '__doc__', None)
    profiled.__wrapped__ = fn
    return profiled


# (class, name, original attribute) of everything _install replaced, for _uninstall
_replaced = []


def _replace(cls, name, attr):
    _replaced.append((cls, name, cls.__dict__[name]))
    setattr(cls, name, attr)


def _wrap_class(cls, names):
    for name in names:
        attr = cls.__dict__.get(name)
        if attr is None:
            continue
        if isinstance(attr, classmethod):
            _replace(cls, name, classmethod(timed(name, attr.__func__)))
        elif isinstance(attr, staticmethod):
            _replace(cls, name, staticmethod(timed(name, attr.__func__)))
        elif callable(attr):
            _replace(cls, name, timed(name, attr))


def _uninstall():
    while _replaced:
        cls, name, attr = _replaced.pop()
        setattr(cls, name, attr)


def set_enabled(flag):
    """Turn the timers on or off (bench/profile_ab.py measures their cost this way)."""
    global enabled
    if flag and not _replaced:
        _install()
    elif not flag and _replaced:
        _uninstall()
    enabled = bool(flag)


def _install():
    from ._comm import Comm
    from ._message import Message
    from ._request import Request, Prequest
    waited = _waited
    complete = Channel.complete

    def counting_complete(self, bufs):
        done = complete(self, bufs)
        for comp in done:
            w = comp.get('w')
            if w:
                waited[0] += w * 1000
        return done

    counting_complete.__doc__ = complete.__doc__
    _replace(Channel, 'complete', counting_complete)
    _wrap_class(Comm, COMM_OPS)
    _wrap_class(Request, REQUEST_OPS)
    _wrap_class(Prequest, ('Start', 'Startall'))
    _wrap_class(Message, MESSAGE_OPS)


def report():
    """This rank's profile (JSON-ready): wall and MPI time, and every op's totals."""
    wall = _ns() - _T0
    ops = []
    mpi = 0
    for name, (calls, sent, ns, waited, hist) in stats.items():
        mpi += ns
        ops.append({'op': name, 'calls': calls, 'bytes': sent, 'ns': ns, 'waitNs': waited,
                    'hist': sorted(hist.items())})
    return {'wallNs': wall, 'mpiNs': mpi, 'ops': ops}


def report_frame():
    """The `profile` one-way frame (PROTOCOL.md), written just before `finalize`."""
    if not enabled:
        return b''
    body = report_json(report()).encode()
    return frame(b'{"op":"profile"}', len(body)) + body


def report_json(profile):
    """report() as compact JSON, written here: the json package would import re at every
    rank's exit. Names are the shim's own (COMM_OPS...), every figure an integer."""
    ops = ','.join(
        '{"op":"%s","calls":%d,"bytes":%d,"ns":%d,"waitNs":%d,"hist":[%s]}' % (
            op['op'], op['calls'], op['bytes'], op['ns'], op['waitNs'],
            ','.join(['[%d,%d]' % bucket for bucket in op['hist']]))
        for op in profile['ops'])
    return '{"wallNs":%d,"mpiNs":%d,"ops":[%s]}' % (profile['wallNs'], profile['mpiNs'], ops)


enabled = os.environ.get('MPIAAS_PROFILE', '1').strip().lower() not in ('0', 'off', 'false', 'no')
if enabled:
    _install()
