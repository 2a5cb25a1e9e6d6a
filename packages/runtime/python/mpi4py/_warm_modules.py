"""Which modules a warm interpreter imports before it forks ranks (see _preload)."""

# What mpi4py scripts import first (numpy: ~0.1 s each time), the standard modules the shim
# builds on, and the shim's modules that hold no rank's state (the others are dropped here).
CANDIDATES = (
    "numpy",
    "threading", "pickle", "struct", "collections", "functools", "weakref", "array", "math",
    "mpi4py", "mpi4py._errors", "mpi4py._unsupported", "mpi4py._derived", "mpi4py._datatypes",
    "mpi4py._buffers", "mpi4py._grouping", "mpi4py._ops", "mpi4py._pickle", "mpi4py._status",
    "mpi4py._group", "mpi4py._channel", "mpi4py._request", "mpi4py._callsite", "mpi4py._typecontents",
    "mpi4py._info", "mpi4py._stdio", "mpi4py._stacks",
    # communicators and all they import (topologies, neighbours, shared-memory collectives,
    # messages): ~5 ms of every rank's `from mpi4py import MPI`, once their module no longer
    # binds COMM_WORLD to a rank when imported here (_comm._bind_world)
    "mpi4py._comm",
)
# What `mpiaas exec`'s rank forker imports: only modules a rank's `from mpi4py import MPI`
# imports anyway (numpy, or a standard module the script may never use, would hold up every
# rank). It imports them without preload()'s checks (~40 ms on its ranks' critical path);
# tests/test_warm_start.py runs the checks on them instead.
SHIM_MODULES = tuple(name for name in CANDIDATES if name.startswith("mpi4py"))

# True while a warm interpreter imports the modules above: _comm then leaves COMM_WORLD
# unbound, for each forked rank to bind its own (a list: set from outside, read at import).
WARMING = [False]
