"""Which mpi4py release's API the ranks of a job see, where 3.1.4 (Debian's) and 4.x (pip's)
disagree: the job's MPIAAS_MPI4PY (3, 3.1, 3.1.x, 4, 4.0, 4.1, 4.1.x), 3.1.4 when unset.

Nearly all of 4.x only adds to 3.1.4, and the shim offers both at once. A few calls answer
in another shape, so one script cannot be served both ways: `Datatype.Get_envelope()` has a
count of large counts in 4.x (ni, na, nc, nd, combiner), `Get_contents()` a list of them,
and `recv(buf)` warns that its buffer argument is deprecated. mpi4py.__version__ says which.

Read from the environment at each call, never kept: a warm interpreter imports the shim
before it knows the job (so mpi4py.__version__ is looked up when asked, too).
The api and the cli check the value (contracts' MPI4PY_RELEASE_PATTERN: the same rule);
here an unknown value fails `from mpi4py import MPI` with a message naming the variable.
"""

import os
import re

VARIABLE = 'MPIAAS_MPI4PY'
# the release the shim answers as, by major version
RELEASES = {'3': '3.1.4', '4': '4.1.2'}
DEFAULT = RELEASES['3']
_PATTERN = re.compile(r'(3(\.1(\.[0-9]+)?)?|4(\.[01](\.[0-9]+)?)?)\Z')   # contracts' rule


def _value():
    return os.environ.get(VARIABLE, '')


def release():
    """The release whose API the job asked for ('3.1.4' or '4.1.2'); the default when the
    value is unknown (check() reports that)."""
    value = _value()
    if not _PATTERN.match(value):
        return DEFAULT
    return RELEASES[value[0]]


def is_4x():
    return release() != DEFAULT


def check():
    """RuntimeError when the job's MPIAAS_MPI4PY names no release the shim offers."""
    value = _value()
    if value and not _PATTERN.match(value):
        raise RuntimeError('mpiaas: %s=%r: the mpi4py API is chosen by release: 3, 3.1 or 3.1.x '
                           '(3.1.4, the default) or 4, 4.0, 4.1, 4.0.x or 4.1.x (4.1.2)'
                           % (VARIABLE, value))
