"""MPI.Info: string key/value hints (kept, never acted on), with MPI's null handle rules:
INFO_NULL is false and every call on it is MPI_ERR_INFO; Info() is a null handle too,
Info.Create() a real one.  Mapping methods as in mpi4py (info['key'], len, keys...)."""

from ._errors import Exception as MPIException, ERR_INFO, ERR_INFO_NOKEY, ERR_ARG


class Info:
    """MPI.Info."""

    def __init__(self, info=None):
        self._d = info._d if isinstance(info, Info) else None   # None: the null handle

    def _dict(self):
        if self._d is None:
            raise MPIException(ERR_INFO)
        return self._d

    @classmethod
    def Create(cls):
        info = cls()
        info._d = {}
        return info

    def Free(self):
        self._dict()
        self._d = None

    def Dup(self):
        new = Info.Create()
        new._d.update(self._dict())
        return new

    def Get(self, key, maxlen=-1):
        return self._dict().get(key)

    def Set(self, key, value):
        self._dict()[str(key)] = str(value)

    def Delete(self, key):
        if key not in self._dict():
            raise MPIException(ERR_INFO_NOKEY)
        del self._d[key]

    def Get_nkeys(self):
        return len(self._dict())

    def Get_nthkey(self, n):
        keys = list(self._dict())
        if not 0 <= n < len(keys):
            raise MPIException(ERR_ARG)
        return keys[n]

    def __bool__(self):
        return self._d is not None

    def __eq__(self, other):
        if not isinstance(other, Info):
            return NotImplemented
        return self._d is other._d

    def __ne__(self, other):
        return not self == other

    __hash__ = object.__hash__

    # -- mapping interface ------------------------------------------------------------
    def __len__(self):
        return len(self._d) if self._d is not None else 0

    def __contains__(self, key):
        return self._d is not None and key in self._d

    def __iter__(self):
        return iter(self._d if self._d is not None else ())

    def __getitem__(self, key):
        return self._dict()[key]

    def __setitem__(self, key, value):
        self.Set(key, value)

    def __delitem__(self, key):
        self.Delete(key)

    def get(self, key, default=None):
        return self._d.get(key, default) if self._d is not None else default

    def keys(self):
        return list(self)

    def values(self):
        return [self._d[k] for k in self]

    def items(self):
        return [(k, self._d[k]) for k in self]

    def update(self, other=(), **kwds):
        d = self._dict()
        for k, v in dict(other, **kwds).items():
            d[str(k)] = str(v)

    def copy(self):
        return self.Dup()

    def clear(self):
        self._dict().clear()

    def py2f(self):
        return 0 if self._d is None else id(self._d) & 0x7fffffff


Info.__module__ = 'mpi4py.MPI'
INFO_NULL = Info()
INFO_ENV = Info.Create()


def Get_hw_resource_info():
    """MPI 4.1 (mpi4py 4.x): the hardware resources the job may use, as an Info.  The
    agent does not report a hardware topology, so it holds no keys."""
    return Info.Create()
