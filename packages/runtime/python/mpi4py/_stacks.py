"""The rank's stack, for the agent's diagnosis of a stuck job (deadlock, mismatch, timeout).

The agent asks while the rank is blocked in an MPI call (the main thread is then reading the
channel, so it answers itself: no signal, no ptrace). The answer names where the user's code
is (`file:line`), which MPI call it is in, and every thread's stack with the shim's own
frames left out.
"""

import os
import sys
import traceback

_SHIM_DIR = os.path.dirname(os.path.abspath(__file__))


def _is_shim(filename):
    return os.path.abspath(filename).startswith(_SHIM_DIR + os.sep)


def describe():
    """{'where': 'pi.py:41', 'call': 'Reduce', 'stack': text} of the calling thread's rank."""
    me = sys._getframe(1)
    where = call = None
    frame, inner = me, None
    while frame is not None:
        if not _is_shim(frame.f_code.co_filename):
            where = '%s:%d' % (os.path.basename(frame.f_code.co_filename), frame.f_lineno)
            if inner is not None:
                call = inner.f_code.co_name
            break
        inner = frame
        frame = frame.f_back
    # The profile's wrapper is the frame just inside the user's: it knows the call's name.
    # (answered by whichever thread reads the channel: the main thread's call, else any)
    from ._callsite import current
    import threading
    site = current.get(threading.main_thread().ident)
    if site is None and current:
        site = next(iter(current.values()), None)
    if site is not None:
        call = site[0].decode()
    lines = []
    for ident, top in sys._current_frames().items():
        frames = [f for f in traceback.extract_stack(top) if not _is_shim(f.filename)]
        if not frames:
            continue
        lines.append('Thread %d (most recent call last):' % ident)
        lines.extend(traceback.format_list(frames))
    return {'where': where, 'call': call, 'stack': ''.join(l if l.endswith('\n') else l + '\n' for l in lines)}
