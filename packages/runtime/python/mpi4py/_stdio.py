"""How a rank's output reaches its agent.

Ranks start unbuffered (`python3 -u`), which costs a write system call per `print` or two,
each one waking the agent reading the socket: for a chatty rank that is most of its time.
Once mpi4py is imported, stdout is buffered instead and flushed by a thread of the shim at
most FLUSH_SECONDS after the first byte waiting, so output stays live (within milliseconds)
at one write per buffer (8 KiB) instead of one per line. It is also flushed when the rank
forks, calls Abort, reads input() or exits. stderr stays unbuffered: it is what explains a
crash, and nothing of it may be lost.

The thread is a bare one (_thread): threading would cost every rank's start a few
milliseconds, and it keeps the thread out of threading.enumerate(), where the threads the
agent is told of are counted (_channel).
"""

import os
import sys
from _thread import start_new_thread
from time import sleep

FLUSH_SECONDS = 0.02

_flusher = [None]


def line_buffer_stdout():
    stdout = sys.stdout
    reconfigure = getattr(stdout, 'reconfigure', None)
    if reconfigure is None:        # replaced by the script with something else: leave it
        return
    try:
        reconfigure(line_buffering=False, write_through=False)
    except (ValueError, OSError):  # closed or detached
        return
    _start_flusher()
    os.register_at_fork(before=flush_stdout, after_in_child=_start_flusher)


def flush_stdout():
    try:
        sys.stdout.flush()
    except (ValueError, OSError, AttributeError):
        pass


def _start_flusher():
    token = _flusher[0] = object()      # a forked child starts its own; the parent's stops
    start_new_thread(_flush_forever, (token,))


def _flush_forever(token):
    # Like a daemon thread, it never keeps the rank alive: the interpreter does not wait
    # for bare threads at exit.
    while _flusher[0] is token:
        sleep(FLUSH_SECONDS)
        flush_stdout()
