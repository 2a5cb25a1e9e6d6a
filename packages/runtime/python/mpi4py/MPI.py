"""mpi4py.MPI for mpiaas: re-exports the shim's modules under mpi4py's names."""

from ._errors import *                      # noqa: F401,F403  (error classes, Exception)
from ._errors import Get_error_string, Get_error_class, ERR_LASTCODE  # noqa: F401
from ._datatypes import *                   # noqa: F401,F403  (Datatype, INT, DOUBLE, ...)
from ._datatypes import _typedict, _typedict_c, _typedict_f, _typecode, _typealign  # noqa
from ._datatypes import _pair_codes  # noqa: F401  (util.dtlib's)
from ._buffers import IN_PLACE, BOTTOM, BUFFER_AUTOMATIC  # noqa: F401
from ._pickle import Pickle, pickle     # noqa: F401  (lower-case serializer)
from ._ops import *                         # noqa: F401,F403  (Op, SUM, ..., MAXLOC)
from ._status import Status, ANY_SOURCE, ANY_TAG, PROC_NULL, UNDEFINED  # noqa: F401
from ._request import Request, Prequest, Grequest, REQUEST_NULL  # noqa: F401
from ._group import Group, GROUP_NULL, GROUP_EMPTY, IDENT, CONGRUENT, SIMILAR, UNEQUAL  # noqa
from ._comm import (Comm, Intracomm, Topocomm, Cartcomm, Graphcomm, Distgraphcomm,  # noqa
                    Intercomm, COMM_NULL, COMM_WORLD, COMM_SELF, ROOT, _comm_lock_table)
from ._comm import _bind_world
_bind_world()                               # a rank forked from a warm interpreter: now
from ._api_release import check as _check_release
_check_release()                            # the job's MPIAAS_MPI4PY names a release
from ._graphs import UNWEIGHTED, WEIGHTS_EMPTY  # noqa: F401
from ._message import Message, MESSAGE_NULL, MESSAGE_NO_PROC  # noqa: F401
from ._topology import Compute_dims, CART, GRAPH, DIST_GRAPH  # noqa: F401
from ._env import *                         # noqa: F401,F403
from ._env import _abort                    # noqa: F401
from ._info import Get_hw_resource_info     # noqa: F401
from ._unsupported import (Win, File, Session,  # noqa: F401
                           WIN_NULL, FILE_NULL, SESSION_NULL, Open_port, Close_port, Lookup_name,
                           Publish_name, Unpublish_name, MODE_RDONLY, MODE_RDWR,
                           MODE_WRONLY, MODE_CREATE, MODE_EXCL, MODE_DELETE_ON_CLOSE,
                           MODE_UNIQUE_OPEN, MODE_SEQUENTIAL, MODE_APPEND, MODE_NOCHECK,
                           MODE_NOSTORE, MODE_NOPUT, MODE_NOPRECEDE, MODE_NOSUCCEED,
                           LOCK_EXCLUSIVE, LOCK_SHARED)

COMM_TYPE_SHARED = 0
# MPI 4.0 split types (mpi4py 4.x); Open MPI 4.1 has none: MPI_UNDEFINED, as mpi4py then
COMM_TYPE_HW_GUIDED = COMM_TYPE_HW_UNGUIDED = COMM_TYPE_RESOURCE_GUIDED = UNDEFINED
DISTRIBUTE_BLOCK, DISTRIBUTE_CYCLIC, DISTRIBUTE_NONE, DISTRIBUTE_DFLT_DARG = 0, 1, 2, -1
ORDER_C, ORDER_FORTRAN, ORDER_F = 0, 1, 1
from ._typecontents import *            # noqa: F401,F403  (COMBINER_*, TYPECLASS_*)
OP_NULL = OP_NULL  # noqa: F405
memory = memoryview
buffer = memoryview

from ._stdio import buffer_stdout as _buffer_stdout  # noqa: E402
_buffer_stdout()

from . import _profile  # noqa: E402,F401  (times every MPI call: PROTOCOL.md `profile`)
from ._env import _startup  # noqa: E402
from . import rc as _rc  # noqa: E402
_startup(_rc)
