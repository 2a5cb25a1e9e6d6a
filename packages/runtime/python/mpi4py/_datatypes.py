"""Predefined MPI datatypes (LP64 sizes, as Open MPI on x86-64 Linux reports them).

A datatype here is only a description: a size/extent for counting elements in a buffer, a
buffer-format typechar (mpi4py's `_typedict`), and a numpy dtype for reductions.  Bytes
are never converted: `[int64_array, MPI.INT]` moves the array's bytes as 2x as many INTs.
Derived datatypes (vector, indexed, ...) are described here and packed by `_derived`.
"""

from ._unsupported import _stub
from ._errors import Exception as _MPIException, ERR_TYPE, ERR_KEYVAL
from . import _derived
from ._attributes import Keyvals

_KEYVALS = Keyvals(200)     # datatype keyvals
_serial = [0]        # derived datatypes made so far: each gets its own name

_INT_MAX = 2**31 - 1      # a C int's: MPI 3.1's counts

# pair types used by MAXLOC/MINLOC: the value's numpy type code. Each is laid out as C lays
# out struct {value v; int i;}: the index aligned after the value, the extent padded to the
# larger alignment (MPI_SHORT_INT: index at 4, extent 8), as Open MPI builds them.
_PAIRS = {
    'MPI_FLOAT_INT': 'f4', 'MPI_DOUBLE_INT': 'f8', 'MPI_LONG_INT': 'i8',
    'MPI_2INT': 'i4', 'MPI_SHORT_INT': 'i2', 'MPI_LONG_DOUBLE_INT': 'g',
}


class Datatype:
    """An MPI datatype: a predefined one, or a block-structured derived one (_derived)."""

    def __init__(self, datatype=None, _spec=None):
        if _spec is None and isinstance(datatype, Datatype):
            self.__dict__.update(datatype.__dict__)
            return
        if datatype is not None:
            raise TypeError('expecting a Datatype, not %s' % type(datatype).__name__)
        if _spec is None:
            _spec = ('MPI_DATATYPE_NULL', 0, 0, None, None)
        self._name, self._size, self._extent, self._tc, self._np = _spec
        self._attrs = {}        # shared by copies of this handle (Datatype(t)), as in MPI
        self._label = self._name
        self._null = _spec[0] == 'MPI_DATATYPE_NULL'
        self._npdtype = None
        # derived datatypes only (see _derived): byte segments of one element, lower
        # bound, the predefined type they are made of, how they were made
        self._segs = None
        self._lb = 0
        self._base = None
        self._committed = True
        self._decoded = None        # (oldtype, 'VECTOR', {count: ...}) of a constructed type

    # -- identity ---------------------------------------------------------------------
    def __eq__(self, other):
        if not isinstance(other, Datatype):
            return NotImplemented
        return self._name == other._name

    def __ne__(self, other):
        if not isinstance(other, Datatype):
            return NotImplemented
        return self._name != other._name

    def __hash__(self):
        return hash(self._name)

    def __bool__(self):
        return not self._null

    def _chk(self):
        # DATATYPE_NULL (and a freed derived type) is an invalid handle, as in mpi4py
        if self._null:
            raise _MPIException(ERR_TYPE)

    # -- sizes ------------------------------------------------------------------------
    def Get_size(self):
        self._chk()
        return self._size

    def Get_extent(self):
        self._chk()
        return (self._lb, self._extent)

    def Get_true_extent(self):
        self._chk()
        if self._segs is None:
            # a pair type's data ends with its index, after the value's padding
            return (0, -(-self._size // 4) * 4 if self._name in _PAIRS else self._size)
        if not self._segs:
            return (0, 0)
        lo = min(off for off, _ in self._segs)
        hi = max(off + n for off, n in self._segs)
        return (lo, hi - lo)

    size = property(Get_size)
    extent = property(lambda self: self.Get_extent()[1])
    lb = property(lambda self: self.Get_extent()[0])
    ub = property(lambda self: sum(self.Get_extent()))
    true_extent = property(lambda self: self.Get_true_extent()[1])
    true_lb = property(lambda self: self.Get_true_extent()[0])
    true_ub = property(lambda self: sum(self.Get_true_extent()))

    def Get_name(self):
        # the null handle's name as mpi4py 4.x gives it (3.1.4 raised MPI_ERR_TYPE)
        return self._label if not self._null else 'MPI_DATATYPE_NULL'

    def Set_name(self, name):
        self._label = name

    name = property(Get_name, Set_name)

    # -- how it was made (see _typecontents) ------------------------------------------
    is_named = property(lambda self: self._segs is None and self._decoded is None)
    is_predefined = property(lambda self: self._segs is None)

    def Get_envelope(self):
        self._chk()
        from ._typecontents import envelope
        return envelope(self)

    def Get_contents(self):
        self._chk()
        from ._typecontents import contents
        return contents(self)

    def decode(self):
        """(oldtype, combiner name, constructor keywords); a named type gives itself (3.1.4)
        or (itself, 'NAMED', {}) (4.x): see _typecontents.decoded."""
        self._chk()
        from ._typecontents import decoded
        return decoded(self)

    envelope = property(Get_envelope)
    contents = property(Get_contents)
    @property
    def combiner(self):
        self._chk()
        from ._typecontents import combiner_of
        return combiner_of(self)

    def Commit(self):
        self._chk()
        self._committed = True
        return self

    def Free(self):
        # a derived datatype becomes DATATYPE_NULL, as the handle does in mpi4py; a
        # predefined one cannot be freed
        if self._segs is None:
            raise _MPIException(ERR_TYPE)
        try:
            _KEYVALS.delete_all(self, self._attrs)
        finally:
            self.__dict__.update(Datatype().__dict__)

    def free(self):
        """mpi4py 4.x: Free unless null or predefined. A module constant (MPI.INT) stays as
        it is; another handle of a predefined type just becomes null."""
        if self._null or any(globals().get(name) is self for name in _NAMED):
            return
        if self._segs is None:
            self.__dict__.update(Datatype().__dict__)
            return
        self.Free()

    def Dup(self):
        self._chk()
        new = _derived_type(self, _derived.dup(self))
        new._committed = self._committed
        attrs = _KEYVALS.copied(self, self._attrs)
        if attrs:
            new._attrs = attrs
        return _made(new, self, 'DUP', {})

    Create_dup = Dup        # what decode() names it

    # -- mpi4py 4.x: buffer format codes of predefined types --------------------------
    def _predefined(self):
        """The predefined type this one stands for (through Dup and F90 markers)."""
        dt = self
        while dt._decoded is not None and dt._decoded[1] in ('DUP', 'F90_INTEGER',
                                                             'F90_REAL', 'F90_COMPLEX'):
            if dt._decoded[0] is dt:        # an F90 marker: the predefined type of its kind
                return Datatype(_spec=(dt._name, dt._size, dt._extent, dt._tc, dt._np))
            dt = dt._decoded[0]
        return dt if dt._segs is None else None

    def tocode(self):
        """The character code or type string of a predefined type (ValueError otherwise)."""
        dt = None if self._null else self._predefined()
        if dt is None or dt._tc is None:
            raise ValueError('cannot map to character code or type string')
        return dt._tc

    @classmethod
    def Get_value_index(cls, value, index):
        """MPI 4.1 (mpi4py 4.x): the predefined pair type of (value, index) for
        MAXLOC/MINLOC, DATATYPE_NULL when there is none."""
        if not isinstance(value, Datatype) or not isinstance(index, Datatype) or \
                value._null or index._null:
            raise _MPIException(ERR_TYPE)
        if index != INT:     # noqa: F821  (defined below)
            return DATATYPE_NULL     # noqa: F821
        return _VALUE_INDEX.get(value._name, DATATYPE_NULL)     # noqa: F821

    def __reduce__(self):
        # mpi4py 4.x: a predefined type pickles as itself (a copy as an equal new
        # handle); a derived one is rebuilt from how it was made
        if self._segs is None and self._decoded is None:
            from ._handles import reduce_handle
            return reduce_handle(self, globals(), _NAMED)
        self._chk()
        old, name, kwargs = self._decoded
        return (_rebuild, (old if old is not self else None, name, kwargs))

    @classmethod
    def fromcode(cls, code):
        try:
            return _typedict[code]
        except (KeyError, TypeError):
            raise ValueError('cannot map code %r to MPI datatype' % (code,)) from None

    @property
    def typechar(self):
        if self._null:
            return ''
        dt = self._predefined()
        code = None if dt is None else dt._tc
        return _CHARS.get(code, code) if code is not None else 'V'

    @property
    def typestr(self):
        if self._null:
            return ''
        char = self.typechar
        return _STRS.get(char, 'V%d' % self._extent)

    def py2f(self):
        return id(self) & 0x7fffffff

    # -- attributes (kept, never interpreted) -----------------------------------------
    def Get_attr(self, keyval):
        self._chk()
        if keyval == -1:        # KEYVAL_INVALID
            raise _MPIException(ERR_KEYVAL)
        return self._attrs.get(keyval)

    def Set_attr(self, keyval, attrval):
        self._chk()
        if keyval == -1:
            raise _MPIException(ERR_KEYVAL)
        _KEYVALS.set(self, self._attrs, keyval, attrval)

    def Delete_attr(self, keyval):
        self._chk()
        _KEYVALS.delete(self, self._attrs, keyval)

    @classmethod
    def Create_keyval(cls, copy_fn=None, delete_fn=None, nopython=False):
        return _KEYVALS.create(copy_fn, delete_fn)

    @classmethod
    def Free_keyval(cls, keyval):
        return -1

    # -- numpy view for reductions (numpy imported only when a reduction needs it) ----
    def _dtype(self):
        dt = self._npdtype
        if dt is None:
            import numpy
            if self._name in _PAIRS:
                dt = numpy.dtype({'names': ['v', 'i'], 'formats': [_PAIRS[self._name], 'i4']},
                                 align=True)
            elif self._np is None:
                dt = numpy.dtype('V%d' % max(self._extent, 1))
            else:
                dt = numpy.dtype(self._np)
            self._npdtype = dt
        return dt

    # -- derived datatypes: the block-structured ones (see _derived) -----------------
    def _derive(self, displs, blocklengths, name, kwargs):
        return _made(_derived_type(self, _derived.build(self, displs, blocklengths)), self,
                     name, kwargs)

    def Create_contiguous(self, count):
        if count > _INT_MAX:
            from ._api_release import is_4x
            if is_4x():
                return self._contiguous_past_int_max(count)
        return self._derive([0], [count], 'CONTIGUOUS', {'count': count})

    def _contiguous_past_int_max(self, count):
        """mpi4py 4.x over an MPI 3.1 library (what MPI.Get_version() says): a count past
        2**31 - 1 as MPI 3.1's C calls can take it, a struct of a vector of whole INT_MAX
        blocks and a contiguous rest (decoded so, as there)."""
        whole, rest = divmod(count, _INT_MAX)
        blocks = self.Create_vector(whole, _INT_MAX, _INT_MAX)
        tail = self.Create_contiguous(rest)
        new = Datatype.Create_struct([1, 1], [0, whole * _INT_MAX * self._extent], [blocks, tail])
        blocks.Free()
        tail.Free()
        return new

    def Create_vector(self, count, blocklength, stride):
        ext = self._extent
        return self._derive([i * stride * ext for i in range(count)], [blocklength] * count,
                            'VECTOR', {'count': count, 'blocklength': blocklength,
                                       'stride': stride})

    def Create_hvector(self, count, blocklength, stride):
        return self._derive([i * stride for i in range(count)], [blocklength] * count,
                            'HVECTOR', {'count': count, 'blocklength': blocklength,
                                        'stride': stride})

    def Create_indexed(self, blocklengths, displacements):
        _same_lengths(blocklengths, displacements)
        ext = self._extent
        return self._derive([d * ext for d in displacements], blocklengths, 'INDEXED',
                            {'blocklengths': list(blocklengths),
                             'displacements': list(displacements)})

    def Create_hindexed(self, blocklengths, displacements):
        _same_lengths(blocklengths, displacements)
        return self._derive(displacements, blocklengths, 'HINDEXED',
                            {'blocklengths': list(blocklengths),
                             'displacements': list(displacements)})

    def Create_indexed_block(self, blocklength, displacements):
        ext = self._extent
        return self._derive([d * ext for d in displacements],
                            [blocklength] * len(displacements), 'INDEXED_BLOCK',
                            {'blocklength': blocklength, 'displacements': list(displacements)})

    def Create_hindexed_block(self, blocklength, displacements):
        return self._derive(displacements, [blocklength] * len(displacements),
                            'HINDEXED_BLOCK',
                            {'blocklength': blocklength, 'displacements': list(displacements)})

    def Create_subarray(self, sizes, subsizes, starts, order=0):
        sizes, subsizes, starts = list(sizes), list(subsizes), list(starts)
        layout = _derived.subarray(self, sizes, subsizes, starts, order)
        return _made(_derived_type(self, layout), self, 'SUBARRAY',
                     {'sizes': sizes, 'subsizes': subsizes, 'starts': starts,
                      'order': order})

    def Create_darray(self, size, rank, gsizes, distribs, dargs, psizes, order=0):
        gsizes, distribs = list(gsizes), list(distribs)
        dargs, psizes = list(dargs), list(psizes)
        layout = _derived.darray(self, size, rank, gsizes, distribs, dargs, psizes, order)
        return _made(_derived_type(self, layout), self,
                     'DARRAY', {'size': size, 'rank': rank, 'gsizes': gsizes,
                                'distribs': distribs, 'dargs': dargs, 'psizes': psizes,
                                'order': order})

    def Create_resized(self, lb, extent):
        return _made(_derived_type(self, _derived.resized(self, lb, extent)), self, 'RESIZED',
                     {'lb': lb, 'extent': extent})

    @classmethod
    def Create_struct(cls, blocklengths, displacements, datatypes):
        blocklengths, displacements = list(blocklengths), list(displacements)
        datatypes = list(datatypes)
        _same_lengths(blocklengths, displacements, datatypes)
        layout, align, same = _derived.struct(blocklengths, displacements, datatypes)
        new = _derived_type(BYTE if same is None else same, layout)    # noqa: F821
        new._align = align
        return _made(new, new, 'STRUCT', {'blocklengths': blocklengths,
                                          'displacements': displacements,
                                          'datatypes': datatypes})

    # Fortran 90 parameterized types: the predefined type of that kind, marked as made
    @classmethod
    def Create_f90_integer(cls, r):
        from ._typecontents import f90_integer
        return f90_integer(r)

    @classmethod
    def Create_f90_real(cls, p, r):
        from ._typecontents import f90_real
        return f90_real(p, r, False)

    @classmethod
    def Create_f90_complex(cls, p, r):
        from ._typecontents import f90_real
        return f90_real(p, r, True)

    @classmethod
    def Match_size(cls, typeclass, size):
        from ._typecontents import match_size
        return match_size(typeclass, size)

    Pack = _stub('Datatype.Pack')
    Unpack = _stub('Datatype.Unpack')
    Pack_size = _stub('Datatype.Pack_size')


Datatype.__module__ = 'mpi4py.MPI'


def _derived_type(child, layout):
    """A new (uncommitted) derived datatype of child's base type laid out as `layout`
    (segments, lb, extent, size: see _derived)."""
    segs, lb, extent, size = layout
    _serial[0] += 1
    dt = Datatype(_spec=('<derived %d>' % _serial[0], size, extent, None, None))
    dt._label = ''
    dt._segs = segs
    dt._lb = lb
    dt._base = child if child._base is None else child._base
    dt._committed = False
    return dt


def _same_lengths(*sequences):
    """A type's per-block lists must agree in length (mpi4py's ValueError; zip would
    silently drop blocks)."""
    lengths = [len(s) for s in sequences]
    for length in lengths[1:]:
        if length != lengths[0]:
            raise ValueError('expecting %d items, got %d' % (lengths[0], length))


def _made(new, oldtype, name, kwargs):
    """Remember how a datatype was made, for Get_envelope/Get_contents/decode.  Derived
    types it was made of are remembered as copies of their handles: as MPI's contents
    stay valid, they survive the caller's Free of the originals."""
    if oldtype is not new:
        oldtype = _kept(oldtype)
    if 'datatypes' in kwargs:
        kwargs['datatypes'] = [_kept(t) for t in kwargs['datatypes']]
    new._decoded = (oldtype, name, kwargs)
    return new


def _kept(datatype):
    return Datatype(datatype) if datatype._segs is not None else datatype


# name, size, extent, typechar (mpi4py _typecode), numpy dtype for reductions
_SPECS = [
    ('DATATYPE_NULL', 'MPI_DATATYPE_NULL', 0, 0, None, None),
    ('PACKED', 'MPI_PACKED', 1, 1, 'B', 'u1'),
    ('BYTE', 'MPI_BYTE', 1, 1, 'B', 'u1'),
    ('AINT', 'MPI_AINT', 8, 8, 'p', 'i8'),
    ('OFFSET', 'MPI_OFFSET', 8, 8, 'p', 'i8'),
    ('COUNT', 'MPI_COUNT', 8, 8, 'p', 'i8'),
    ('CHAR', 'MPI_CHAR', 1, 1, 'c', 'i1'),
    ('WCHAR', 'MPI_WCHAR', 4, 4, 'U', 'i4'),
    ('SIGNED_CHAR', 'MPI_SIGNED_CHAR', 1, 1, 'b', 'i1'),
    ('SHORT', 'MPI_SHORT', 2, 2, 'h', 'i2'),
    ('INT', 'MPI_INT', 4, 4, 'i', 'i4'),
    ('LONG', 'MPI_LONG', 8, 8, 'l', 'i8'),
    ('LONG_LONG', 'MPI_LONG_LONG_INT', 8, 8, 'q', 'i8'),
    ('UNSIGNED_CHAR', 'MPI_UNSIGNED_CHAR', 1, 1, 'B', 'u1'),
    ('UNSIGNED_SHORT', 'MPI_UNSIGNED_SHORT', 2, 2, 'H', 'u2'),
    ('UNSIGNED', 'MPI_UNSIGNED', 4, 4, 'I', 'u4'),
    ('UNSIGNED_LONG', 'MPI_UNSIGNED_LONG', 8, 8, 'L', 'u8'),
    ('UNSIGNED_LONG_LONG', 'MPI_UNSIGNED_LONG_LONG', 8, 8, 'Q', 'u8'),
    ('FLOAT', 'MPI_FLOAT', 4, 4, 'f', 'f4'),
    ('DOUBLE', 'MPI_DOUBLE', 8, 8, 'd', 'f8'),
    ('LONG_DOUBLE', 'MPI_LONG_DOUBLE', 16, 16, 'g', 'g'),
    ('C_BOOL', 'MPI_C_BOOL', 1, 1, '?', '?'),
    ('INT8_T', 'MPI_INT8_T', 1, 1, 'i1', 'i1'),
    ('INT16_T', 'MPI_INT16_T', 2, 2, 'i2', 'i2'),
    ('INT32_T', 'MPI_INT32_T', 4, 4, 'i4', 'i4'),
    ('INT64_T', 'MPI_INT64_T', 8, 8, 'i8', 'i8'),
    ('UINT8_T', 'MPI_UINT8_T', 1, 1, 'u1', 'u1'),
    ('UINT16_T', 'MPI_UINT16_T', 2, 2, 'u2', 'u2'),
    ('UINT32_T', 'MPI_UINT32_T', 4, 4, 'u4', 'u4'),
    ('UINT64_T', 'MPI_UINT64_T', 8, 8, 'u8', 'u8'),
    ('C_COMPLEX', 'MPI_C_COMPLEX', 8, 8, 'F', 'c8'),
    ('C_DOUBLE_COMPLEX', 'MPI_C_DOUBLE_COMPLEX', 16, 16, 'D', 'c16'),
    ('C_LONG_DOUBLE_COMPLEX', 'MPI_C_LONG_DOUBLE_COMPLEX', 32, 32, 'G', 'G'),
    ('CXX_BOOL', 'MPI_CXX_BOOL', 1, 1, '?', '?'),
    ('CXX_FLOAT_COMPLEX', 'MPI_CXX_FLOAT_COMPLEX', 8, 8, 'F', 'c8'),
    ('CXX_DOUBLE_COMPLEX', 'MPI_CXX_DOUBLE_COMPLEX', 16, 16, 'D', 'c16'),
    ('CXX_LONG_DOUBLE_COMPLEX', 'MPI_CXX_LONG_DOUBLE_COMPLEX', 32, 32, 'G', 'G'),
    ('SHORT_INT', 'MPI_SHORT_INT', 6, 8, None, None),
    ('INT_INT', 'MPI_2INT', 8, 8, None, None),
    ('LONG_INT', 'MPI_LONG_INT', 12, 16, None, None),
    ('FLOAT_INT', 'MPI_FLOAT_INT', 8, 8, None, None),
    ('DOUBLE_INT', 'MPI_DOUBLE_INT', 12, 16, None, None),
    ('LONG_DOUBLE_INT', 'MPI_LONG_DOUBLE_INT', 20, 32, None, None),
    ('CHARACTER', 'MPI_CHARACTER', 1, 1, 'c', 'i1'),
    ('LOGICAL', 'MPI_LOGICAL', 4, 4, 'i', 'i4'),      # Fortran logicals: their integer
    ('INTEGER', 'MPI_INTEGER', 4, 4, 'i', 'i4'),
    ('REAL', 'MPI_REAL', 4, 4, 'f', 'f4'),
    ('DOUBLE_PRECISION', 'MPI_DOUBLE_PRECISION', 8, 8, 'd', 'f8'),
    ('COMPLEX', 'MPI_COMPLEX', 8, 8, 'F', 'c8'),
    ('DOUBLE_COMPLEX', 'MPI_DOUBLE_COMPLEX', 16, 16, 'D', 'c16'),
    ('LOGICAL1', 'MPI_LOGICAL1', 1, 1, 'b1', 'i1'),   # codes (1 byte: bool), as 4.x
    ('LOGICAL2', 'MPI_LOGICAL2', 2, 2, 'i2', 'i2'),
    ('LOGICAL4', 'MPI_LOGICAL4', 4, 4, 'i4', 'i4'),
    ('LOGICAL8', 'MPI_LOGICAL8', 8, 8, 'i8', 'i8'),
    ('INTEGER1', 'MPI_INTEGER1', 1, 1, 'i1', 'i1'),
    ('INTEGER2', 'MPI_INTEGER2', 2, 2, 'i2', 'i2'),
    ('INTEGER4', 'MPI_INTEGER4', 4, 4, 'i4', 'i4'),
    ('INTEGER8', 'MPI_INTEGER8', 8, 8, 'i8', 'i8'),
    ('REAL4', 'MPI_REAL4', 4, 4, 'f4', 'f4'),
    ('REAL8', 'MPI_REAL8', 8, 8, 'f8', 'f8'),
    ('REAL16', 'MPI_REAL16', 16, 16, 'f16', 'g'),
    ('COMPLEX8', 'MPI_COMPLEX8', 8, 8, 'c8', 'c8'),
    ('COMPLEX16', 'MPI_COMPLEX16', 16, 16, 'c16', 'c16'),
    ('COMPLEX32', 'MPI_COMPLEX32', 32, 32, 'c32', 'G'),
]

__all__ = ['Datatype']
for _spec in _SPECS:
    globals()[_spec[0]] = Datatype(_spec=_spec[1:])
    __all__.append(_spec[0])

# aliases (same object, as in mpi4py)
_ALIASES = {
    'UNSIGNED_INT': 'UNSIGNED', 'SIGNED_SHORT': 'SHORT', 'SIGNED_INT': 'INT',
    'SIGNED_LONG': 'LONG', 'SIGNED_LONG_LONG': 'LONG_LONG', 'BOOL': 'C_BOOL',
    'SINT8_T': 'INT8_T', 'SINT16_T': 'INT16_T', 'SINT32_T': 'INT32_T', 'SINT64_T': 'INT64_T',
    'TWOINT': 'INT_INT', 'C_FLOAT_COMPLEX': 'C_COMPLEX', 'F_BOOL': 'LOGICAL',
    'F_INT': 'INTEGER', 'F_FLOAT': 'REAL', 'F_DOUBLE': 'DOUBLE_PRECISION',
    'F_COMPLEX': 'COMPLEX', 'F_FLOAT_COMPLEX': 'COMPLEX', 'F_DOUBLE_COMPLEX': 'DOUBLE_COMPLEX',
    'LONG_LONG_INT': 'LONG_LONG',
    # what Open MPI 4.1 on x86-64 leaves null (no such Fortran kinds; LB/UB are gone)
    'INTEGER16': 'DATATYPE_NULL', 'REAL2': 'DATATYPE_NULL', 'COMPLEX4': 'DATATYPE_NULL',
    'UB': 'DATATYPE_NULL', 'LB': 'DATATYPE_NULL',
    # MPI 4.1's / mpi4py 4.x's, which Open MPI 4.1 does not have (null there too)
    'LOGICAL16': 'DATATYPE_NULL', 'FLOAT16_T': 'DATATYPE_NULL',
    'BFLOAT16_T': 'DATATYPE_NULL', 'FLOAT32_T': 'DATATYPE_NULL',
    'FLOAT64_T': 'DATATYPE_NULL',
}
for _a, _b in _ALIASES.items():
    globals()[_a] = globals()[_b]
    __all__.append(_a)

# type string -> character code, character code -> numpy-style type string (4.x typechar,
# typestr; LP64)
_CHARS = {'i1': 'b', 'i2': 'h', 'i4': 'i', 'i8': 'l', 'u1': 'B', 'u2': 'H', 'u4': 'I',
          'u8': 'L', 'f4': 'f', 'f8': 'd', 'f16': 'g', 'c8': 'F', 'c16': 'D', 'c32': 'G',
          'b1': '?', 'p': 'l', 'P': 'L'}
_STRS = {'?': 'b1', 'c': 'S1', 'b': 'i1', 'h': 'i2', 'i': 'i4', 'l': 'i8', 'q': 'i8',
         'B': 'u1', 'H': 'u2', 'I': 'u4', 'L': 'u8', 'Q': 'u8', 'f': 'f4', 'd': 'f8',
         'g': 'f16', 'F': 'c8', 'D': 'c16', 'G': 'c32', 'U': 'U1'}

# buffer format typechar -> datatype (mpi4py's MPI._typedict)
_g = globals()
_typedict = {
    '?': _g['C_BOOL'], 'c': _g['CHAR'], 'S': _g['CHAR'], 'S1': _g['CHAR'], 's': _g['CHAR'],
    '1s': _g['CHAR'], 'b': _g['SIGNED_CHAR'], 'h': _g['SHORT'], 'i': _g['INT'],
    'l': _g['LONG'], 'q': _g['LONG_LONG'], 'B': _g['UNSIGNED_CHAR'],
    'H': _g['UNSIGNED_SHORT'], 'I': _g['UNSIGNED'], 'L': _g['UNSIGNED_LONG'],
    'Q': _g['UNSIGNED_LONG_LONG'], 'f': _g['FLOAT'], 'd': _g['DOUBLE'],
    'g': _g['LONG_DOUBLE'], 'Zf': _g['C_COMPLEX'], 'Zd': _g['C_DOUBLE_COMPLEX'],
    'F': _g['C_COMPLEX'], 'D': _g['C_DOUBLE_COMPLEX'], 'Zg': _g['C_LONG_DOUBLE_COMPLEX'],
    'G': _g['C_LONG_DOUBLE_COMPLEX'], 'b1': _g['C_BOOL'], 'i1': _g['INT8_T'],
    'u1': _g['UINT8_T'], 'i2': _g['INT16_T'], 'u2': _g['UINT16_T'], 'i4': _g['INT32_T'],
    'u4': _g['UINT32_T'], 'i8': _g['INT64_T'], 'u8': _g['UINT64_T'], 'f4': _g['FLOAT'],
    'c8': _g['C_COMPLEX'], 'f8': _g['DOUBLE'], 'c16': _g['C_DOUBLE_COMPLEX'],
    'f16': _g['LONG_DOUBLE'], 'c32': _g['C_LONG_DOUBLE_COMPLEX'], 'n': _g['COUNT'],
    'N': _g['UNSIGNED_LONG'], 'p': _g['AINT'], 'P': _g['UNSIGNED_LONG'], 'U': _g['WCHAR'],
    'U1': _g['WCHAR'], 'u': _g['UINT16_T'], '1u': _g['UINT16_T'], 'w': _g['WCHAR'],
    '1w': _g['WCHAR'],
}
_typedict_c = {'c': _g['CHAR']}
_g2 = _g
_typedict_f = {}
del _g, _a, _b, _spec


_VALUE_INDEX = {'MPI_SHORT': _g2['SHORT_INT'], 'MPI_INT': _g2['INT_INT'],
                'MPI_LONG': _g2['LONG_INT'], 'MPI_FLOAT': _g2['FLOAT_INT'],
                'MPI_DOUBLE': _g2['DOUBLE_INT'], 'MPI_LONG_DOUBLE': _g2['LONG_DOUBLE_INT']}
_NAMED = [name for name in __all__ if name != 'Datatype']
del _g2


def _rebuild(oldtype, name, kwargs):
    """A derived datatype made again as decode() says it was made (for unpickling)."""
    maker = getattr(Datatype if oldtype is None else oldtype, 'Create_' + name.lower())
    return maker(**kwargs)


def _typealign(datatype):
    """mpi4py 4.x MPI._typealign: the alignment of a predefined type's elements (pair
    types included), None for a derived one."""
    if datatype._null or datatype._segs is not None:
        return None
    return _derived.alignment(datatype)


def _pair_codes(datatype):
    """(value code, index code) of a predefined MAXLOC/MINLOC pair type, else None."""
    if datatype._segs is not None or datatype._decoded is not None:
        return None
    value = _PAIRS.get(datatype._name)
    return None if value is None else (value, 'i4')


def _typecode(datatype):
    """The buffer typechar of a predefined datatype (None if it has none)."""
    return datatype._tc


def lookup_format(fmt):
    """Datatype for a buffer format string (memoryview.format), or None if unknown."""
    dt = _typedict.get(fmt)
    if dt is None and fmt:
        # numpy/struct prefixes: native '@'/'=' or little-endian '<' (we are on x86-64)
        if fmt[0] in '@=<':
            dt = _typedict.get(fmt[1:])
    return dt


def asdatatype(obj):
    """Datatype from a Datatype or a typechar string (as mpi4py accepts)."""
    if isinstance(obj, Datatype):
        return obj
    return _typedict[obj]       # KeyError for anything else, like mpi4py
