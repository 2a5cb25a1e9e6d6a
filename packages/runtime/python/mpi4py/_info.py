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
    def Create(cls, items=None):
        """A new Info; mpi4py 4.x: holding `items` (a mapping or (key, value) pairs)."""
        info = cls()
        info._d = {}
        if items is not None:
            info.update(items)
        return info

    @classmethod
    def Create_env(cls, args=None):
        # MPI 4.0's MPI_Info_create_env: over an MPI 3.1 library (what Get_version says)
        # mpi4py 4.x raises this too
        raise NotImplementedError('MPI.Info.Create_env needs MPI 4.0; mpiaas answers as MPI 3.1')

    def __reduce__(self):
        # mpi4py 4.x: INFO_NULL and INFO_ENV unpickle as themselves, a copy of either as an
        # equal handle, a created Info as a new one holding the same items
        for name in ('INFO_NULL', 'INFO_ENV'):
            if self is globals()[name]:
                return name
        if self._d is None:
            return (Info, ())
        if self._d is INFO_ENV._d:
            return (Info, (INFO_ENV,))
        return (type(self).Create, (self.items(),))

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

    # On INFO_NULL the mapping methods raise KeyError, as mpi4py's (the MPI calls raise
    # MPI_ERR_INFO).
    def _mapping(self, key):
        if self._d is None:
            raise KeyError(key)
        return self._d

    def __getitem__(self, key):
        return self._mapping(key)[key]

    def __setitem__(self, key, value):
        self._mapping(key)
        self.Set(key, value)

    def __delitem__(self, key):
        del self._mapping(key)[key]

    def pop(self, key, *default):
        if self._d is None or key not in self._d:
            if default:
                return default[0]
            raise KeyError(key)
        return self._d.pop(key)

    def popitem(self):
        if not self._d:
            raise KeyError('popitem(): info is empty')
        return self._d.popitem()

    def get(self, key, default=None):
        return self._d.get(key, default) if self._d is not None else default

    def keys(self):
        return list(self)

    def values(self):
        return [self._d[k] for k in self]

    def items(self):
        return [(k, self._d[k]) for k in self]

    def update(self, other=(), **kwds):
        d = self._mapping('update')
        for k, v in dict(other, **kwds).items():
            d[str(k)] = str(v)

    def copy(self):
        # a copy of INFO_NULL is a null handle (equal to it); of any other, a Dup
        return Info() if self._d is None else self.Dup()

    def clear(self):
        if self._d is not None:
            self._d.clear()

    def py2f(self):
        return 0 if self._d is None else id(self._d) & 0x7fffffff


Info.__module__ = 'mpi4py.MPI'
INFO_NULL = Info()
INFO_ENV = Info.Create()


def Get_hw_resource_info():
    """MPI 4.1 (mpi4py 4.x): the hardware resources the job may use, as an Info.  The
    agent does not report a hardware topology, so it holds no keys."""
    return Info.Create()
