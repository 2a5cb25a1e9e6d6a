"""How a rank's output reaches its agent.

Ranks start unbuffered (`python3 -u`), which costs a write system call per `print` or two,
each one waking the agent reading the socket: for a chatty rank that is most of its time.
Once mpi4py is imported, stdout is buffered instead and flushed by a thread of the shim at
most FLUSH_SECONDS after the first byte waiting, so output stays live (within milliseconds)
at one write per buffer (8 KiB) instead of one per line. It is also flushed when the rank
forks, calls Abort, reads input() or exits. stderr stays unbuffered: it is what explains a
crash, and nothing of it may be lost.

Two threads now write the same stream, so every write to the file goes through a
BufferedWriter: it holds a lock over its buffer and its writes, and writes a partial write's
rest. Under `-u` there is none: the text layer writes to the file itself, so a flusher
flushing it raced the rank's own writes (a line's end reached the agent after the next line,
tests/test_stdio.py). There stdout is rebuilt on a BufferedWriter of its own. The text layer
above it keeps gathering text (a write per print would cost a chatty rank a third more): the
flusher takes what it gathered while holding the interpreter lock, and hands it to the
BufferedWriter before any later text can get there (the rank's thread holds that writer's
lock only while the text layer has nothing gathered). The flusher flushes the stream it set
up, not sys.stdout, which a script may replace with anything.

The thread is a bare one (_thread): threading would cost every rank's start a few
milliseconds, and it keeps the thread out of threading.enumerate(), where the threads the
agent is told of are counted (_channel). It flushes under `_flushing`, which a fork and the
interpreter's exit take first: a fork never copies the buffer's lock held by the flusher,
and at exit the flusher has stopped before the interpreter's last flush (a bare thread that
is still flushing then would be stopped holding that lock, and the exit would abort).
"""

import atexit
import os
import sys
from _io import BufferedWriter, FileIO, TextIOWrapper
from _thread import allocate_lock, start_new_thread
from time import sleep

FLUSH_SECONDS = 0.02
BUFFER_BYTES = 8192

_flusher = [None]           # the running flusher's token; None once stopped (or never started)
_stdout = [None]            # the rank's stdout as set up here, on a BufferedWriter
_flushing = allocate_lock()


def buffer_stdout():
    if _stdout[0] is not None:          # once per process (a fork's child keeps it)
        return
    stdout = _buffer_stdout()
    if stdout is None:
        return
    _stdout[0] = stdout
    _start_flusher()
    os.register_at_fork(before=_before_fork, after_in_parent=_flushing.release,
                        after_in_child=_after_fork_in_child)
    atexit.register(_stop_flusher)


def _buffer_stdout():
    """stdout on a BufferedWriter and without line buffering, or None where it stays as it is."""
    stdout = sys.stdout
    if type(stdout) is not TextIOWrapper:   # replaced by the script with something else
        return None
    try:
        stdout.flush()
        fd = stdout.fileno()
        if isinstance(stdout.buffer, BufferedWriter):
            stdout.reconfigure(line_buffering=False, write_through=False)
            return stdout
        raw = FileIO(fd, 'w', closefd=False)
        raw.name = stdout.name              # '<stdout>', as the interpreter named it
        buffered = BufferedWriter(raw, BUFFER_BYTES)
        rebuilt = TextIOWrapper(buffered, encoding=stdout.encoding, errors=stdout.errors,
                                newline='\n')
    except (ValueError, OSError):           # closed or detached
        return None
    if sys.__stdout__ is stdout:
        sys.__stdout__ = rebuilt
    sys.stdout = rebuilt
    return rebuilt


def flush_stdout():
    try:
        sys.stdout.flush()
    except (ValueError, OSError, AttributeError):
        pass
    _flush_ours()       # the script may have replaced sys.stdout: ours may still hold output


def _flush_ours():
    stdout = _stdout[0]
    if stdout is not None:
        try:
            stdout.flush()
        except (ValueError, OSError):
            pass


def _before_fork():
    _flushing.acquire()
    flush_stdout()      # else the child writes the parent's waiting output a second time


def _after_fork_in_child():
    _flushing.release()
    if _flusher[0] is not None:
        _start_flusher()


def _stop_flusher():
    with _flushing:
        _flusher[0] = None


def _start_flusher():
    token = _flusher[0] = object()      # a flusher that finds another token stops
    start_new_thread(_flush_forever, (token,))


def _flush_forever(token):
    # Like a daemon thread, it never keeps the rank alive: the interpreter does not wait
    # for bare threads at exit.
    while True:
        sleep(FLUSH_SECONDS)
        with _flushing:
            if _flusher[0] is not token:
                return
            _flush_ours()
