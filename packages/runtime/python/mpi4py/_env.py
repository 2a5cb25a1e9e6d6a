"""Process-level MPI calls: init/finalize, timers, versions, abort, processor name."""

import atexit
import os
import sys
import time

from ._channel import channel, frame

THREAD_SINGLE, THREAD_FUNNELED, THREAD_SERIALIZED, THREAD_MULTIPLE = 0, 1, 2, 3
VERSION, SUBVERSION = 3, 1
MAX_PROCESSOR_NAME = MAX_ERROR_STRING = MAX_LIBRARY_VERSION_STRING = 256
MAX_OBJECT_NAME = 64
BSEND_OVERHEAD = 128
KEYVAL_INVALID = -1
TAG_UB, HOST, IO, WTIME_IS_GLOBAL, APPNUM, LASTUSEDCODE, UNIVERSE_SIZE = 0, 1, 2, 3, 4, 5, 6
ABORT_GRACE = 5.0       # seconds to wait for the agent's kill after an abort
# Thread support actually provided: any thread may call MPI at any time. Frames are written
# whole under the channel's lock, the agent answers each call when it can (several may wait
# at once) and a blocked call never holds the channel (_channel's docstring).
_THREAD_PROVIDED = THREAD_MULTIPLE
_LEVELS = {'single': THREAD_SINGLE, 'funneled': THREAD_FUNNELED,
           'serialized': THREAD_SERIALIZED, 'multiple': THREAD_MULTIPLE}
_state = {'init': False, 'final': False, 'thread': THREAD_SINGLE}
_start = time.perf_counter


def _startup(rc):
    """At `from mpi4py import MPI`: initialise as mpi4py.rc says (rc.initialize False
    leaves it to the script's MPI.Init/Init_thread)."""
    if not rc.initialize:
        return
    if rc.threads:
        level = rc.thread_level
        Init_thread(_LEVELS[level.lower()] if isinstance(level, str) else level)
    else:
        Init()


def Init():
    Init_thread(THREAD_SINGLE)


def Init_thread(required=THREAD_MULTIPLE):
    """Initialise (once, as MPI allows); the thread level provided is never above what
    the shim really supports (_THREAD_PROVIDED)."""
    from ._errors import Exception as MPIException, ERR_OTHER
    if _state['init'] or _state['final']:
        raise MPIException(ERR_OTHER)
    _state['init'] = True
    _state['thread'] = min(int(required), _THREAD_PROVIDED)
    return _state['thread']


def Is_initialized():
    return _state['init']


def Is_finalized():
    return _state['final']


def Query_thread():
    return _state['thread']


def Is_thread_main():
    import threading
    return threading.current_thread() is threading.main_thread()


def Finalize():
    """Tell the agent this rank is done (once); implicit at exit."""
    if _state['final']:
        return
    _delete_self_attributes()
    _state['final'] = True
    if channel.sock is None:
        channel.connect()
    shm = sys.modules.get('mpi4py._shm_collectives')
    if shm is not None:
        shm.verify_all()    # a last eager bcast whose members disagreed on the root
    from ._profile import report_frame
    channel.write([report_frame() + frame(b'{"op":"finalize"}')])


def _delete_self_attributes():
    """MPI_Finalize's first step: COMM_SELF's attributes are deleted, so their delete
    callbacks run while MPI still works (the usual place for a library's clean-up hook).
    A failing callback's error is printed (_attributes); Finalize goes on."""
    comm = sys.modules.get('mpi4py._comm')
    if comm is None or not comm.COMM_SELF._attrs:
        return
    try:
        comm._KEYVALS.delete_all(comm.COMM_SELF, comm.COMM_SELF._attrs)
    except Exception:       # noqa: BLE001  (already printed; the rank still says goodbye)
        pass


def _at_exit():
    # only a rank started by an agent has someone to say goodbye to
    if channel.finalized:
        return
    if not _state['final'] and (channel.sock is not None or 'MPIAAS_PROTOCOL' in os.environ):
        try:
            Finalize()
        except BaseException:
            pass
    channel.let_go()


atexit.register(_at_exit)

Wtime = time.perf_counter


def Wtick():
    return 1e-9


def Get_processor_name():
    channel.ensure()
    host = channel.info.get('host') if channel.info else None
    if not host:
        import socket
        host = socket.gethostname()
    return host


def Get_version():
    return (3, 1)


def Get_library_version():
    return 'mpiaas (mpi4py-compatible shim, MPI 3.1 subset), protocol v1'


def get_vendor():
    return ('mpiaas', (1, 0, 0))


def Pcontrol(level):
    pass


def _abort(errorcode=0):
    """MPI_Abort: tell the agent, then wait to be killed (exit errorcode if not)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        channel.write([frame(b'{"op":"abort","code":%d}' % int(errorcode))])
    except Exception:
        pass
    deadline = time.monotonic() + ABORT_GRACE
    while time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(int(errorcode) & 0xff if errorcode else 1)


def Attach_buffer(buf):
    """Bsend copies into the agent at once: the attached buffer is only remembered."""
    _attached[0] = buf


def Detach_buffer():
    buf, _attached[0] = _attached[0], None
    return buf


_attached = [None]


def Alloc_mem(size, info=None):
    return _Memory(size)


class _Memory(bytearray):
    """Memory from Alloc_mem: a fixed-size byte buffer that, like mpi4py's MPI.memory
    (3.x) / MPI.buffer (4.x), tells its address and size."""

    @property
    def address(self):
        import ctypes
        return ctypes.addressof(ctypes.c_char.from_buffer(self)) if len(self) else 0

    nbytes = property(len)
    readonly = False
    format = 'B'
    itemsize = 1

    def tobytes(self):
        return bytes(self)

    def release(self):
        pass


def Free_mem(mem):
    pass


def Get_address(location):
    from ._buffers import address_of
    return address_of(location)


from ._info import Info, INFO_NULL, INFO_ENV  # noqa: E402,F401  (star-exported)


class Errhandler:
    """MPI.Errhandler: a name only (errors always raise MPI.Exception here)."""

    def __init__(self, errhandler=None):
        self._name = errhandler._name if isinstance(errhandler, Errhandler) else errhandler

    def __bool__(self):
        return self._name is not None

    def __eq__(self, other):
        if not isinstance(other, Errhandler):
            return NotImplemented
        return self._name == other._name

    def __ne__(self, other):
        return not self == other

    __hash__ = object.__hash__

    def Free(self):
        from ._errors import Exception as MPIException, ERR_ARG
        if self._name is None:
            raise MPIException(ERR_ARG)


Errhandler.__module__ = 'mpi4py.MPI'
ERRHANDLER_NULL = Errhandler()
ERRORS_RETURN = Errhandler('ERRORS_RETURN')
ERRORS_ARE_FATAL = Errhandler('ERRORS_ARE_FATAL')

# What `from ._env import *` gives mpi4py.MPI: the MPI names, not the modules this one uses.
__all__ = [_name for _name in dir() if not _name.startswith('_')
           and _name not in ('atexit', 'os', 'sys', 'time', 'channel', 'frame')]
