"""MPI.Intercomm: only its null handle exists here (intercommunicators are not provided:
no Spawn, Connect or Create_intercomm), but it is a Comm like mpi4py's, so
`MPI.Intercomm() == MPI.COMM_NULL` and isinstance checks behave."""

from ._comm import Comm
from ._unsupported import _stub


class Intercomm(Comm):
    """MPI.Intercomm (null only)."""

    def Is_inter(self):
        self._chk()
        return True

    def Is_intra(self):
        self._chk()
        return False

    is_inter = property(Is_inter)
    is_intra = property(Is_intra)


def _method(name):
    stub = _stub('Intercomm.' + name)

    def method(self, *args, **kwargs):
        self._chk()         # a null handle is MPI_ERR_COMM, as everywhere
        stub()
    method.__name__ = name
    return method


for _name in ('Merge', 'Get_remote_group', 'Get_remote_size'):
    setattr(Intercomm, _name, _method(_name))
Intercomm.remote_group = property(Intercomm.Get_remote_group)
Intercomm.remote_size = property(Intercomm.Get_remote_size)
Intercomm.__module__ = 'mpi4py.MPI'
del _name
