"""MPI.Intercomm: only its null handle exists here (intercommunicators are not provided:
no Spawn, Connect or Create_intercomm), but it is a Comm like mpi4py's, so
`MPI.Intercomm() == MPI.COMM_NULL` and isinstance checks behave.

The class is declared in _comm (Comm.Get_parent returns one) and mixes in RemoteGroup from
here: what an intercommunicator has beyond a communicator, its remote group."""

from ._unsupported import _stub


def _method(name):
    stub = _stub('Intercomm.' + name)

    def method(self, *args, **kwargs):
        self._chk()         # a null handle is MPI_ERR_COMM, as everywhere
        stub()
    method.__name__ = name
    return method


class RemoteGroup:
    """The remote side of MPI.Intercomm."""

    def Is_inter(self):
        self._chk()
        return True

    def Is_intra(self):
        self._chk()
        return False

    is_inter = property(Is_inter)
    is_intra = property(Is_intra)

    Merge = _method('Merge')
    Get_remote_group = _method('Get_remote_group')
    Get_remote_size = _method('Get_remote_size')
    remote_group = property(Get_remote_group)
    remote_size = property(Get_remote_size)
