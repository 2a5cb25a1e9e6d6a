"""MPI.Status: source, tag, error and the received byte count (counts in datatypes are
derived from bytes, as MPI_Get_count does)."""

ANY_SOURCE = -1
ANY_TAG = -1
PROC_NULL = -2
UNDEFINED = -32766


class Status:
    """Status of a completed receive/probe."""

    __slots__ = ('source', 'tag', 'error', '_count', '_cancelled')

    def __init__(self, status=None):
        if status is not None:
            if not isinstance(status, Status):
                raise TypeError('expecting a Status, not %s' % type(status).__name__)
            self.source = status.source
            self.tag = status.tag
            self.error = status.error
            self._count = status._count
            self._cancelled = status._cancelled
        else:
            self.source = ANY_SOURCE
            self.tag = ANY_TAG
            self.error = 0
            self._count = 0
            self._cancelled = False

    def _set(self, source, tag, count, error=0, cancelled=False):
        self.source = source
        self.tag = tag
        self._count = count
        self.error = error
        self._cancelled = cancelled

    def __eq__(self, other):
        if not isinstance(other, Status):
            return NotImplemented
        return (self.source, self.tag, self.error, self._count, self._cancelled) == \
            (other.source, other.tag, other.error, other._count, other._cancelled)

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def Get_source(self):
        return self.source

    def Set_source(self, source):
        self.source = source

    def Get_tag(self):
        return self.tag

    def Set_tag(self, tag):
        self.tag = tag

    def Get_error(self):
        return self.error

    def Set_error(self, error):
        self.error = error

    def Get_count(self, datatype=None):
        """Received count in units of datatype (BYTE by default); UNDEFINED if the byte
        count is not a multiple of the datatype size."""
        if datatype is None:
            return self._count
        datatype._chk()
        size = datatype._size
        if size == 0:
            return 0
        q, r = divmod(self._count, size)
        return UNDEFINED if r else q

    def Get_elements(self, datatype):
        datatype._chk()
        size = datatype._size
        if size == 0:
            return 0
        q, r = divmod(self._count, size)
        return UNDEFINED if r else q

    def Set_elements(self, datatype, count):
        datatype._chk()
        self._count = count * datatype._size

    def Is_cancelled(self):
        return self._cancelled

    def Set_cancelled(self, flag):
        self._cancelled = bool(flag)

    def _set_count(self, count):
        self._count = count

    count = property(Get_count, _set_count)
    cancelled = property(Is_cancelled, Set_cancelled)

    def tomemory(self):
        """mpi4py 4.x: the status as a writable sequence of ints (source, tag, error,
        byte count, cancelled); writing an item writes that field."""
        return _StatusMemory(self)

    def py2f(self):
        return [self._count, 0, self.source, self.tag, self.error, int(self._cancelled)]


Status.__module__ = 'mpi4py.MPI'


class _StatusMemory:
    """Status.tomemory(): items are the status fields, in MPI_Status order."""

    _FIELDS = ('source', 'tag', 'error', '_count', '_cancelled')

    def __init__(self, status):
        self._status = status

    def __len__(self):
        return len(self._FIELDS)

    def __getitem__(self, i):
        return int(getattr(self._status, self._FIELDS[i]))

    def __setitem__(self, i, value):
        name = self._FIELDS[i]
        setattr(self._status, name, bool(value) if name == '_cancelled' else int(value))

    def __iter__(self):
        return (self[i] for i in range(len(self)))
