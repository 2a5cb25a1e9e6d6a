"""How a rank's output reaches its agent.

Ranks start unbuffered (`python3 -u`), which costs a write system call per `print` or two,
each one waking the agent reading the socket: for a chatty rank that is most of its time.
Once mpi4py is imported, stdout is buffered instead and flushed by a thread of the shim at
most FLUSH_SECONDS after the first byte waiting, so output stays live (within milliseconds)
at one write per buffer (8 KiB) instead of one per line. It is also flushed when the rank
forks, calls Abort, reads input() or exits. stderr stays unbuffered: it is what explains a
crash, and nothing of it may be lost.
"""

import os
import sys
import threading

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
    thread = threading.Thread(target=_flush_forever, name='mpiaas-stdout', daemon=True)
    _flusher[0] = thread
    thread.start()


def _flush_forever():
    wait = threading.Event().wait
    me = threading.current_thread()
    while _flusher[0] is me:
        wait(FLUSH_SECONDS)
        flush_stdout()
