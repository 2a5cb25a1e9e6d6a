"""The MPI call in progress as the user made it: its name and the user's frame that made it.

Set by the profile's wrappers (_profile.timed) around the outermost call; a collective sends
it to the agent (`name`, `at` in icoll), which names each member's call and script line if
the members' calls do not match. Empty when profiling is off.
"""

import os

# [name as bytes, the calling frame]; MPI calls are serialised (THREAD_SERIALIZED)
current = [None, None]
_basenames = {}


def call_site():
    """(b'Bcast', b'file.py:41') of the MPI call in progress, or (None, None)."""
    name, caller = current
    if caller is None:
        return None, None
    code = caller.f_code
    base = _basenames.get(code)
    if base is None:
        base = _basenames[code] = os.path.basename(code.co_filename).replace('"', '').replace('\\', '')
    return name, ('%s:%d' % (base, caller.f_lineno)).encode()
