"""The MPI call in progress as the user made it: its name and the user's frame that made it.

Set by the profile's wrappers (_profile.timed) around the outermost call; a collective sends
it to the agent (`name`, `at` in icoll), which names each member's call and script line if
the members' calls do not match. Empty when profiling is off.
"""

import os
from _thread import get_ident

# thread ident -> (name as bytes, the calling frame) of the call that thread is in: threads
# may be in MPI calls at once (THREAD_MULTIPLE)
current = {}
_basenames = {}


def call_site():
    """(b'Bcast', b'file.py:41') of the calling thread's MPI call in progress, or (None, None)."""
    site = current.get(get_ident())
    if site is None:
        return None, None
    name, caller = site
    code = caller.f_code
    base = _basenames.get(code)
    if base is None:
        base = _basenames[code] = os.path.basename(code.co_filename).replace('"', '').replace('\\', '')
    return name, ('%s:%d' % (base, caller.f_lineno)).encode()
