"""Reduction operations.

The agent only moves bytes; every fold happens here, in rank order (or, for small
Reduce/Allreduce buffers, in Open MPI's grouping: _grouping), so all ranks of an allreduce
compute the identical result.  Python objects (lower-case API) are folded with
the same functions mpi4py 3.1 uses; buffers (upper-case API) with numpy ufuncs (numpy is
imported on the first buffer reduction only).
"""

from ._errors import Exception as MPIException, ERR_OP
from ._grouping import program, run


def _maxloc(x, y):
    u, i = x
    v, j = y
    if u > v:
        return u, i
    if v > u:
        return v, j
    return (v, j) if j < i else (u, i)


def _minloc(x, y):
    u, i = x
    v, j = y
    if u < v:
        return u, i
    if v < u:
        return v, j
    return (v, j) if j < i else (u, i)


_PYFUNCS = {
    'MAX': lambda x, y: y if y > x else x,
    'MIN': lambda x, y: y if y < x else x,
    'SUM': lambda x, y: x + y,
    'PROD': lambda x, y: x * y,
    'LAND': lambda x, y: bool(x and y),
    'BAND': lambda x, y: x & y,
    'LOR': lambda x, y: bool(x or y),
    'BOR': lambda x, y: x | y,
    'LXOR': lambda x, y: bool((x or y) and not (x and y)),
    'BXOR': lambda x, y: x ^ y,
    'MAXLOC': _maxloc,
    'MINLOC': _minloc,
    'REPLACE': lambda x, y: y,
    'NO_OP': lambda x, y: x,
}

_UFUNCS = {'MAX': 'maximum', 'MIN': 'minimum', 'SUM': 'add', 'PROD': 'multiply',
           'LAND': 'logical_and', 'LOR': 'logical_or', 'LXOR': 'logical_xor',
           'BAND': 'bitwise_and', 'BOR': 'bitwise_or', 'BXOR': 'bitwise_xor'}


class Op:
    """An MPI reduction operation; callable on Python objects like mpi4py's Op."""

    def __init__(self, op=None):
        if isinstance(op, Op):
            self.__dict__.update(op.__dict__)
        else:
            self._name = None       # predefined name ('SUM', ...) or None
            self._func = None       # user function f(inbuf, inoutbuf, datatype)
            self._commute = False
            self._uid = None        # a user operation's handle (copies share it)

    def __eq__(self, other):
        if not isinstance(other, Op):
            return NotImplemented
        if self._name is not None or other._name is not None:
            return self._name == other._name
        return self._uid == other._uid

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(self._name) if self._name is not None else id(self)

    def __bool__(self):
        return self._name is not None or self._func is not None

    def __call__(self, x, y):
        """Apply the op to two Python objects (what the lower-case reductions do)."""
        if self._name is not None:
            return _PYFUNCS[self._name](x, y)
        if self._func is not None:
            return self._func(x, y, None)
        raise ValueError('cannot call a null Op')

    @classmethod
    def Create(cls, function, commute=False):
        # mpi4py keeps user operations in a table of 32 slots and raises RuntimeError
        # when it is full (3.1.4 and 4.x alike); a freed operation gives its slot back
        global _user_ops
        if _user_ops is None:
            import weakref
            _user_ops = weakref.WeakSet()
        if len(_user_ops) >= _MAX_USER_OPS:
            raise RuntimeError('cannot create too many user-defined reduction operations')
        op = cls()
        op._func = function
        op._commute = bool(commute)
        op._uid = _Slot()
        _user_ops.add(op._uid)
        return op

    def Free(self):
        if self._name is not None or self._func is None:
            raise MPIException(ERR_OP)
        self._func = None
        _user_ops.discard(self._uid)     # made by the Create that made this op
        self._uid = None

    def __reduce__(self):
        # mpi4py 4.x: a predefined operation unpickles as the very same object, a user
        # one as a new operation made with the same function (its pickle must exist)
        if self._name is not None:
            named = globals()[self._name]
            return self._name if self is named else (Op, (named,))
        if self._func is None:
            return 'OP_NULL' if self is OP_NULL else (Op, ())
        return (_recreate, (self._func, self._commute))

    def Is_commutative(self):
        return self._commute

    is_commutative = property(Is_commutative)
    is_predefined = property(lambda self: self._name is not None or self._func is None)

    def Reduce_local(self, inbuf, inoutbuf):
        """inoutbuf = inbuf op inoutbuf (buffers)."""
        from ._buffers import message
        from ._derived import take_owed, drop_owed
        from ._buffers import has_derived
        if self._name is not None and (has_derived(inbuf) or has_derived(inoutbuf)):
            raise MPIException(ERR_OP)
        try:
            imv, icount, idt = message(inbuf, True)
            omv, ocount, odt = message(inoutbuf, False)
            if icount != ocount:
                raise ValueError('mismatch in inbuf count %d and inoutbuf count %d'
                                 % (icount, ocount))
            if idt != odt:
                raise ValueError('mismatch in inbuf and inoutbuf MPI datatypes')
            apply_buffers(self, imv, omv, odt, ocount)
        except BaseException:
            drop_owed()
            raise
        # a derived-type inoutbuf was folded packed: copy it back now (no request here)
        unpack = take_owed()
        if unpack is not None:
            unpack()

    def py2f(self):
        return id(self) & 0x7fffffff

    def toint(self):
        return -1       # no C integer handle to hand out (mpi4py's answer then)


Op.__module__ = 'mpi4py.MPI'

_MAX_USER_OPS = 32


class _Slot:
    """A user operation's slot in the table: copies of the Op share it; it is given back
    by Free or when the last copy is garbage (as mpi4py's table entries are)."""

    __slots__ = ('__weakref__',)


# slots in use (a WeakSet made by the first Create: weakref costs about 1 ms to import)
_user_ops = None


def _recreate(function, commute):
    return Op.Create(function, commute)



def _predefined(name, commute=True):
    op = Op()
    op._name = name
    op._commute = commute
    return op


OP_NULL = Op()
MAX = _predefined('MAX')
MIN = _predefined('MIN')
SUM = _predefined('SUM')
PROD = _predefined('PROD')
LAND = _predefined('LAND')
BAND = _predefined('BAND')
LOR = _predefined('LOR')
BOR = _predefined('BOR')
LXOR = _predefined('LXOR')
BXOR = _predefined('BXOR')
MAXLOC = _predefined('MAXLOC')
MINLOC = _predefined('MINLOC')
REPLACE = _predefined('REPLACE', False)
NO_OP = _predefined('NO_OP', False)

__all__ = ['Op', 'OP_NULL', 'MAX', 'MIN', 'SUM', 'PROD', 'LAND', 'BAND', 'LOR', 'BOR',
           'LXOR', 'BXOR', 'MAXLOC', 'MINLOC', 'REPLACE', 'NO_OP']


# -- Python objects ---------------------------------------------------------------------
def fold_objects(op, values):
    """values[0] op values[1] op ... (left to right); op is an Op or any callable."""
    it = iter(values)
    acc = next(it)
    for v in it:
        acc = op(acc, v)
    return acc


def prefix_objects(op, values, upto):
    """Fold of values[0..upto] inclusive (scan); None for upto < 0 (exscan on rank 0)."""
    if upto < 0:
        return None
    return fold_objects(op, values[:upto + 1])


# -- buffers ----------------------------------------------------------------------------
def _np():
    import numpy
    return numpy


def _loc(np, a, b, op):
    """MAXLOC/MINLOC of structured (v, i) arrays: b wins on a better value or equal value
    with a smaller index."""
    av, bv = a['v'], b['v']
    better = (bv > av) if op is MAXLOC or op._name == 'MAXLOC' else (bv < av)
    take = better | ((bv == av) & (b['i'] < a['i']))
    out = a.copy()
    out[take] = b[take]
    return out


def _check(op, dt):
    name = op._name
    if name is None:
        return
    kind = dt._dtype().kind
    pair = dt._dtype().names is not None
    if name in ('MAXLOC', 'MINLOC'):
        if not pair:
            raise MPIException(ERR_OP)
    elif pair or kind == 'V':
        if name not in ('REPLACE', 'NO_OP'):
            raise MPIException(ERR_OP)
    elif name in ('BAND', 'BOR', 'BXOR') and kind not in 'iub':
        raise MPIException(ERR_OP)
    elif name in ('MAX', 'MIN') and kind == 'c':
        raise MPIException(ERR_OP)


# A SUM or PROD of at most this many float64 per part folds with Python floats: the same IEEE
# double arithmetic as numpy's (bit for bit), without numpy's cost per call on a few elements
# (fold_buffers took 11 µs for two parts of one double, this 2 µs: the common small Allreduce).
_FEW = 8
_ADD = float.__add__
_MUL = float.__mul__


def _fold_few_doubles(name, whole, nparts, out, count, kind):
    """fold_buffers for a SUM or PROD of `count` (<= _FEW) float64 per part, `whole` the parts
    back to back: left to right, or in Open MPI's grouping for `kind` (_grouping)."""
    from _struct import unpack_from, pack_into
    values = unpack_from('=%dd' % (nparts * count), whole)
    combine = _ADD if name == 'SUM' else _MUL
    root = 0
    if isinstance(kind, tuple):
        kind, root = kind
    ranges = program(kind, nparts, count, 8, root) if kind is not None else None
    result = [0.0] * count
    if ranges is None:
        for j in range(count):
            acc = values[j]
            for i in range(1, nparts):
                acc = combine(acc, values[i * count + j])
            result[j] = acc
    else:
        for first, stop, steps in ranges:
            for j in range(first, stop):
                result[j] = run(steps, values[j::count], combine)
    pack_into('=%dd' % count, out, 0, *result)


def fold_buffers(op, parts, out, dt, count, kind=None):
    """out = parts[0] op parts[1] op ... ; parts are byte buffers of count elements of dt,
    in rank order (or one contiguous buffer holding them back to back); out is a writable
    byte memoryview.  kind ('allreduce', 'reduce', or ('reduce', root)) groups the parts
    as Open MPI does (_grouping); otherwise they fold left."""
    nbytes = count * dt._extent
    name = op._name
    if isinstance(parts, (list, tuple)):
        nparts = len(parts)
        get = parts.__getitem__
    else:
        whole = memoryview(parts)
        nparts = len(whole) // nbytes if nbytes else 0
        get = lambda i: whole[i * nbytes:(i + 1) * nbytes]
    if nparts == 0 or nbytes == 0:
        return
    if name == 'NO_OP':
        out[:nbytes] = get(0)
        return
    if name == 'REPLACE':
        out[:nbytes] = get(nparts - 1)
        return
    if name is None:
        _fold_user(op, [get(i) for i in range(nparts)], out, dt, count)
        return
    if (name == 'SUM' or name == 'PROD') and count <= _FEW and dt._np == 'f8' and dt._segs is None \
            and len(out) >= nbytes:     # (a short out: numpy's ValueError, below)
        whole = b''.join(parts) if isinstance(parts, (list, tuple)) else whole
        _fold_few_doubles(name, whole, nparts, out, count, kind)
        return
    _check(op, dt)
    np = _np()
    dtype = dt._dtype()
    res = np.frombuffer(out, dtype=dtype, count=count)
    if name in ('MAXLOC', 'MINLOC'):
        acc = np.frombuffer(get(0), dtype=dtype, count=count)
        for i in range(1, nparts):
            acc = _loc(np, acc, np.frombuffer(get(i), dtype=dtype, count=count), op)
        res[...] = acc
        return
    ufunc = getattr(np, _UFUNCS[name])
    root = 0
    if isinstance(kind, tuple):
        kind, root = kind
    ranges = program(kind, nparts, count, dt._extent, root) if kind is not None else None
    if ranges is not None:
        contiguous = not isinstance(parts, (list, tuple)) and dt._extent == dtype.itemsize
        if contiguous:      # one array, a row per part: no per-part frombuffer
            rows = np.frombuffer(whole, dtype=dtype, count=nparts * count).reshape(nparts, count)
        else:
            rows = [np.frombuffer(get(i), dtype=dtype, count=count) for i in range(nparts)]
        for first, stop, steps in ranges:
            if first == 0 and stop == count:
                res[...] = run(steps, rows, ufunc)
            else:
                res[first:stop] = run(steps, [row[first:stop] for row in rows], ufunc)
        return
    if not isinstance(parts, (list, tuple)):
        # left to right, one row at a time: ufunc.reduce would sum a column pairwise (a
        # single element over 8 parts and more) and start a sum from +0.0 (-0.0 + -0.0 came
        # out +0.0), neither what Open MPI's left fold nor the agent's (agent-fold.ts) gives
        rows = np.frombuffer(whole, dtype=dtype, count=nparts * count).reshape(nparts, count)
        r = rows[0].copy()
        for i in range(1, nparts):
            ufunc(r, rows[i], out=r)
    else:
        r = np.frombuffer(get(0), dtype=dtype, count=count)
        if nparts == 1:
            r = r.copy()
        for i in range(1, nparts):
            r = ufunc(r, np.frombuffer(get(i), dtype=dtype, count=count))
    if r.dtype != dtype:
        r = r.astype(dtype)
    res[...] = r


class _OpBuffer(bytearray):
    """What a user op's function gets: bytes, like mpi4py's MPI.memory, whose slice
    assignment takes any buffer of the same byte length (`b[:] = array('i', ...)`), which
    a plain memoryview refuses when the formats differ."""

    def __setitem__(self, key, value):
        if isinstance(key, slice) and not isinstance(value, (bytes, bytearray)):
            try:
                value = memoryview(value).cast('B')
            except TypeError:
                pass
        bytearray.__setitem__(self, key, value)


def _fold_user(op, parts, out, dt, count):
    """User op f(inbuf, inoutbuf, datatype) computes inoutbuf = inbuf op inoutbuf; a left
    fold acc op p is therefore f(acc, copy_of_p) with the copy becoming the new acc."""
    func = op._func
    if func is None:
        raise MPIException(ERR_OP)
    nbytes = count * dt._extent
    acc = _OpBuffer(parts[0][:nbytes])
    for p in parts[1:]:
        tmp = _OpBuffer(p[:nbytes])
        func(acc, tmp, dt)
        acc = tmp
    out[:nbytes] = acc


def apply_buffers(op, inbuf, inoutbuf, dt, count):
    """inoutbuf = inbuf op inoutbuf (Reduce_local)."""
    nbytes = count * dt._extent
    if op._name is None:
        func = op._func
        if func is None:
            raise MPIException(ERR_OP)
        inout = _OpBuffer(inoutbuf[:nbytes])
        func(_OpBuffer(inbuf[:nbytes]), inout, dt)
        inoutbuf[:nbytes] = inout
        return
    tmp = bytes(inoutbuf[:nbytes])
    fold_buffers(op, [inbuf, tmp], inoutbuf, dt, count)


def as_op(op):
    """Ops and plain Python callables are both accepted by lower-case reductions."""
    return op
