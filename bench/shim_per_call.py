# The shim's own time per call, without an agent: the rank's Python work on an MPI call
# (parsing the buffers, framing, the profile's timers, reading the reply) is on the path of
# every collective, and on a machine with fewer cores than ranks it is paid once per wave
# of ranks. The agent is replaced by a canned reply written into the channel as the call is
# sent, so the figure is the shim's alone and steady from run to run (best of 7 × 20000).
# Baseline, same run: the same calls with the profile's timers taken out.
# Usage: PYTHONPATH=packages/runtime/python python3 bench/shim_per_call.py
import os
import re
import timeit
from contextlib import nullcontext

os.environ.setdefault('MPIAAS_PROTOCOL', '2')
import numpy as np
from mpi4py import MPI, _channel, _profile

channel = _channel.channel
replies = bytearray()
request_id = re.compile(rb'"req":(\d+)')


def answer(bufs):
    """The agent's reply to a collective: one part of 8 bytes for an allgather (the folded
    Allreduce), none for a barrier."""
    head = bytes(bufs[0])
    body = b'\0' * 8 if b'allgather' in head else b''
    counts = '[8]' if body else '[]'
    header = ('{"done":[{"req":%s,"kind":"coll","counts":%s}],"parts":%s,"k":%d}' % (
        request_id.search(head).group(1).decode(), counts, counts, channel._calls - 1)).encode()
    replies.extend(_channel.frame(header, len(body)) + body)
    return sum(len(b) for b in bufs)


def receive(view, n=None):
    k = min(len(view) if n is None else n, len(replies))
    view[:k] = replies[:k]
    del replies[:k]
    return k


channel._lock = nullcontext()     # connected, as far as the channel can tell
channel._loads = _channel.compact_json_loads()
channel._sendmsg = answer
channel._recv_into = receive
comm = MPI.COMM_WORLD
comm._size, comm._rank = 4, 0
small, result = np.zeros(1), np.zeros(1)
calls = {
    'Barrier': comm.Barrier,
    'Allreduce 8 B': lambda: comm.Allreduce([small, MPI.DOUBLE], [result, MPI.DOUBLE], op=MPI.SUM),
}


def best(op):
    for _ in range(2000):
        op()
    return min(timeit.repeat(op, number=20000, repeat=7)) / 20000 * 1e6


print('| call | timers off (baseline) | timers on | the timers |')
print('|---|---:|---:|---:|')
for name, op in calls.items():
    _profile.set_enabled(False)
    off = best(op)
    _profile.set_enabled(True)
    on = best(op)
    print('| %s | %.2f µs | %.2f µs | +%.2f µs |' % (name, off, on, on - off))
