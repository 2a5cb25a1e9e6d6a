"""MPI-4 persistent collectives (mpi4py 4.x): `Bcast_init(buf, root, info)` and the rest
return a persistent request whose every Start() starts the non-blocking collective
(`Ibcast(buf, root)`) with the arguments given at init, as MPI's persistent point-to-point
requests do here (Send_init). The buffers are read at each Start, so a loop that refills
its buffer and starts the request again sends what the buffer holds then. `info` is
accepted and ignored (MPI lets a library ignore hints)."""

from ._request import Prequest


def persistent(name, start):
    """The `<name>_init` method over the non-blocking method `start` (a function of the
    class): its positional arguments, then `info` (positional or by name)."""
    arity = start.__code__.co_argcount - 1        # without self

    def init(self, *args, **kwargs):
        self._chk()
        kwargs.pop('info', None)
        if len(args) > arity:                     # info given by position, after the rest
            args = args[:arity]
        return Prequest(lambda: start(self, *args, **kwargs))
    init.__name__ = init.__qualname__ = name + '_init'
    return init
