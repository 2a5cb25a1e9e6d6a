"""Pickling of MPI handles as mpi4py 4.x does it: a predefined handle (COMM_WORLD,
GROUP_NULL, MESSAGE_NO_PROC, ...) unpickles as that very object, a copy of one
(`MPI.Intracomm(MPI.COMM_WORLD)`) as a new handle equal to it, and any other handle (a
communicator from Dup, an active request...) cannot be pickled: ValueError, as mpi4py
raises for handles that mean nothing in another process.
"""

import weakref


def reduce_handle(obj, module, names):
    """obj.__reduce__() for a handle whose predefined instances are `names` (module-level
    names in `module`, a module object or dict)."""
    space = module if isinstance(module, dict) else vars(module)
    for name in names:
        if obj is space.get(name):
            return name             # pickle finds it as mpi4py.MPI.<name>
    for name in names:
        predefined = space.get(name)
        if isinstance(obj, type(predefined)) and _same(obj, predefined):
            return (type(obj), (predefined,))
    raise ValueError('cannot serialize %s instance' % type(obj).__name__)


def _same(obj, predefined):
    try:
        return bool(obj == predefined)
    except Exception:       # noqa: BLE001  (a handle whose comparison fails is not it)
        return False


# -- integer handles (handle, toint, py2f and back) for objects that share a handle ------
_live = weakref.WeakValueDictionary()


def handle_of(obj):
    """An int naming obj's MPI handle `obj._handle` (copies of a handle share it); 0 for a
    null handle."""
    target = obj._handle
    if target is None:
        return 0
    key = id(target) & 0x7fffffff
    _live[key] = target
    return key


def from_handle(cls, key):
    """A new cls instance for the handle named by key (null if it is unknown)."""
    target = _live.get(key)
    return cls(target) if target is not None else cls()
