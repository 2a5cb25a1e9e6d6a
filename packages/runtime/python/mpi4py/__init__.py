"""mpiaas shim of *MPI for Python*: the mpi4py API in pure Python.

Each rank talks to its mpiaas agent over fd 3 (see ../../PROTOCOL.md); there is no MPI
library underneath.  `from mpi4py import MPI` stays cheap: numpy and the socket are only
touched when a script actually needs them.
"""

__author__ = 'mpiaas (API of mpi4py by Lisandro Dalcin)'

__all__ = ['MPI']


def __getattr__(name):
    # __version__: 3.1.4 unless the job asks for 4.x (_api_release). Read when asked, not at
    # import: a warm interpreter imports this package before it knows the job.
    if name == '__version__':
        from ._api_release import release
        return release()
    raise AttributeError('module %r has no attribute %r' % (__name__, name))


class Rc:
    """Runtime configuration options (accepted for compatibility; mostly advisory here)."""

    initialize = True
    threads = True
    thread_level = 'multiple'
    finalize = None
    fast_reduce = True
    recv_mprobe = True
    irecv_bufsz = 32768     # mpi4py 4.x
    errors = 'exception'

    def __init__(self, **kwargs):
        self(**kwargs)

    def __call__(self, **kwargs):
        for key in kwargs:
            if not hasattr(self, key):
                raise TypeError("unexpected argument '{0}'".format(key))
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __setattr__(self, name, value):
        # mpi4py 4.x refuses an option it does not have (3.1.4 took any attribute)
        if not hasattr(type(self), name):
            from ._api_release import is_4x
            if is_4x():
                raise TypeError("object has no attribute '{0}'".format(name))
        object.__setattr__(self, name, value)

    def __repr__(self):
        return '<{0}.rc>'.format(__name__)


rc = Rc()
__import__('sys').modules[__name__ + '.rc'] = rc


def profile(name, *, path=None, logfile=None):
    """Load an MPI profiling library (MPE, VampirTrace...).  There is no MPI library under
    the shim for one to intercept, so no profiler is ever found: mpi4py's error."""
    raise ValueError("profile: library '%s' not found" % name)


def get_include():
    """There are no C headers in the shim; kept for API compatibility."""
    from os.path import join, dirname
    return join(dirname(__file__), 'include')


def get_config():
    """Describe the (virtual) MPI implementation."""
    return {'mpicc': '', 'mpiaas': 'true'}
