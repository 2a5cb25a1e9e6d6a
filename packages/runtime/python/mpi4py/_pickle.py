"""MPI.Pickle and MPI.pickle: how the lower-case calls serialize Python objects.

mpi4py lets a script swap the serializer, e.g. `MPI.pickle.__init__(dill.dumps,
dill.loads)`, or lower `MPI.pickle.PROTOCOL`; every lower-case send, receive and
collective of the shim goes through `MPI.pickle`, so such a change takes effect everywhere.
The standard `pickle` module is imported on first use, keeping `from mpi4py import MPI`
cheap.
"""


def _stdlib():
    import pickle
    return pickle


class Pickle:
    """Pickle/unpickle Python objects."""

    def __init__(self, dumps=None, loads=None, protocol=None):
        # mpi4py: the default dumps gets the highest protocol; a custom dumps is called
        # with a protocol only when one is given
        self._dumps = dumps
        self._loads = loads
        self._protocol = protocol
        self._default_protocol = dumps is None

    def dumps(self, obj, buffer_callback=None):
        dumps = self._dumps
        if dumps is None:
            dumps = self._dumps = _stdlib().dumps
        protocol = self.PROTOCOL
        if protocol is None:
            return dumps(obj)
        return dumps(obj, protocol)

    def loads(self, data, buffers=None):
        loads = self._loads
        if loads is None:
            loads = self._loads = _stdlib().loads
        return loads(data)

    @property
    def PROTOCOL(self):
        if self._protocol is None and self._default_protocol:
            self._protocol = _stdlib().HIGHEST_PROTOCOL
        return self._protocol

    @PROTOCOL.setter
    def PROTOCOL(self, protocol):
        # None restores the default (the highest protocol of the standard pickle)
        self._protocol = protocol
        self._default_protocol = protocol is None or self._default_protocol


Pickle.__module__ = 'mpi4py.MPI'

pickle = Pickle()
