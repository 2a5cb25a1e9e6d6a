"""mpi4py.util.dtlib for mpiaas: numpy dtypes <-> MPI datatypes.

`from_numpy_dtype(dtype)` builds the MPI datatype laying out memory as the numpy dtype does
(a scalar is its predefined type, a subarray dtype a subarray type, a structured dtype a
struct type resized to the dtype's itemsize); `to_numpy_dtype(datatype)` goes back by
decoding how the datatype was made. Block-structured types (vector, indexed...) become
structured dtypes with one field per block, so the round trip dtype -> datatype -> dtype is
the identity. numpy is imported on the first call.
"""

from .. import MPI
from .._api_release import is_4x

__all__ = ['from_numpy_dtype', 'to_numpy_dtype']


def _np():
    import numpy
    return numpy


# -- numpy -> MPI -------------------------------------------------------------------------
def from_numpy_dtype(dtype):
    """The MPI datatype (a new one, the caller frees it) for a numpy dtype."""
    np = _np()
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise ValueError('cannot convert numpy dtype %r: holds Python objects' % (dtype,))
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        # (the parts made on the way are not freed: the new type's contents name them)
        return from_numpy_dtype(base).Create_subarray(list(shape), list(shape),
                                                      [0] * len(shape), MPI.ORDER_C)
    if dtype.names is not None:
        return _from_struct(dtype)
    if not dtype.isnative and dtype.itemsize > 1:
        raise ValueError('cannot convert numpy dtype %r: not in native byte order'
                         % (dtype,))
    return _from_scalar(dtype).Dup()


def _from_scalar(dtype):
    char = dtype.char
    if char in 'SU' and dtype.itemsize:
        unit = MPI.CHAR if char == 'S' else MPI.WCHAR
        if dtype.itemsize == unit.extent:
            return unit
        return _Owned(unit.Create_contiguous(dtype.itemsize // unit.extent))
    datatype = MPI._typedict.get(char)
    if datatype is None or datatype == MPI.DATATYPE_NULL or dtype.itemsize == 0:
        raise ValueError('cannot convert numpy dtype %r to an MPI datatype' % (dtype,))
    if datatype.Get_size() != dtype.itemsize:
        raise ValueError('cannot convert numpy dtype %r: no MPI datatype of %d bytes'
                         % (dtype, dtype.itemsize))
    return datatype


class _Owned:
    """A datatype made on the way (Dup of it is what is returned; it is freed then)."""

    def __init__(self, datatype):
        self.datatype = datatype

    def Dup(self):
        return self.datatype


def _from_struct(dtype):
    blocklengths, displacements, datatypes = [], [], []
    for name in dtype.names:
        field = dtype.fields[name]
        blocklengths.append(1)
        displacements.append(field[1])
        datatypes.append(from_numpy_dtype(field[0]))
    struct = MPI.Datatype.Create_struct(blocklengths, displacements, datatypes)
    if struct.Get_extent() == (0, dtype.itemsize):
        return struct
    return struct.Create_resized(0, dtype.itemsize)


# -- MPI -> numpy -------------------------------------------------------------------------
# combiners of types that are one predefined scalar (decode() differs between mpi4py 3.1.4
# and 4.x for named types: the combiner does not)
_SCALARS = (MPI.COMBINER_NAMED, MPI.COMBINER_F90_INTEGER, MPI.COMBINER_F90_REAL,
            MPI.COMBINER_F90_COMPLEX)


def to_numpy_dtype(datatype):
    """The numpy dtype laying out memory as the MPI datatype does (ValueError for a type
    numpy cannot describe: DATATYPE_NULL, negative lower bounds...)."""
    np = _np()
    if datatype == MPI.DATATYPE_NULL:
        raise ValueError('cannot convert MPI.DATATYPE_NULL to a numpy dtype')
    if datatype.combiner in _SCALARS:
        return _to_scalar(datatype)
    oldtype, combiner, kw = datatype.decode()
    if combiner == 'DUP':
        return to_numpy_dtype(oldtype)
    if combiner == 'CONTIGUOUS':
        return _array(to_numpy_dtype(oldtype), (kw['count'],))
    if combiner == 'SUBARRAY':
        sizes, subsizes, starts = kw['sizes'], kw['subsizes'], kw['starts']
        if list(sizes) != list(subsizes) or any(starts):
            raise ValueError('cannot convert a partial subarray datatype to a numpy dtype')
        shape = tuple(sizes) if kw['order'] == MPI.ORDER_C else tuple(reversed(sizes))
        return _array(to_numpy_dtype(oldtype), shape)
    if combiner == 'RESIZED':
        base = to_numpy_dtype(oldtype)
        if kw['lb'] == 0 and kw['extent'] == base.itemsize:
            return base
        if kw['lb'] != 0 or base.names is None:
            raise ValueError('cannot convert a resized datatype to a numpy dtype')
        return _struct([base.fields[n][0] for n in base.names],
                       [base.fields[n][1] for n in base.names], kw['extent'])
    if combiner == 'STRUCT':
        formats = [_block(_unwrap(to_numpy_dtype(t)), n)
                   for n, t in zip(kw['blocklengths'], kw['datatypes'])]
        return _blocks(datatype, formats, kw['displacements'])
    # block-structured types: one field per block, at its byte displacement
    ext = oldtype.Get_extent()[1]
    base = _unwrap(to_numpy_dtype(oldtype))
    if combiner in ('VECTOR', 'HVECTOR'):
        step = kw['stride'] * (ext if combiner == 'VECTOR' else 1)
        lengths = [kw['blocklength']] * kw['count']
        displs = [i * step for i in range(kw['count'])]
    elif combiner in ('INDEXED', 'HINDEXED'):
        lengths = kw['blocklengths']
        unit = ext if combiner == 'INDEXED' else 1
        displs = [d * unit for d in kw['displacements']]
    elif combiner in ('INDEXED_BLOCK', 'HINDEXED_BLOCK'):
        lengths = [kw['blocklength']] * len(kw['displacements'])
        unit = ext if combiner == 'INDEXED_BLOCK' else 1
        displs = [d * unit for d in kw['displacements']]
    else:
        raise ValueError('cannot convert a %s datatype to a numpy dtype' % combiner)
    return _blocks(datatype, [_block(base, n) for n in lengths], displs)


def _to_scalar(datatype):
    np = _np()
    pair = MPI._pair_codes(datatype)
    if pair is not None and is_4x():
        # a MAXLOC/MINLOC pair: the aligned struct of its value and index, as C lays it out
        # (mpi4py 4.x; 3.1.4 had no dtype for it: the ValueError below)
        return np.dtype('%s,%s' % pair, align=True)
    code = MPI._typecode(datatype)
    if code is None:
        raise ValueError('cannot convert MPI datatype %s to a numpy dtype'
                         % datatype.Get_name())
    return np.dtype(code)


def _block(base, count):
    return base if count == 1 else _np().dtype((base, (count,)))


def _array(base, shape):
    """A subarray dtype; of a structured base, wrapped in a one-field aligned struct (so
    the result is still a struct, as its MPI datatype is)."""
    np = _np()
    array = np.dtype((base, shape))
    if base.names is None:
        return array
    return _struct([array], [0], array.itemsize)


def _unwrap(dtype):
    """A field's form of a dtype: a wrapped subarray (see _array) unwrapped."""
    if dtype.names is not None and len(dtype.names) == 1:
        field, offset = dtype.fields[dtype.names[0]][:2]
        if offset == 0 and field.subdtype is not None and field.itemsize == dtype.itemsize:
            return field
    return dtype


def _blocks(datatype, formats, displs):
    if min(displs, default=0) < 0:
        raise ValueError('cannot convert a datatype with a negative displacement to a '
                         'numpy dtype')
    # the extent, or (a type with a positive lower bound) up to the end of its last block
    end = max([d + f.itemsize for d, f in zip(displs, formats)] or [0])
    itemsize = max(datatype.Get_extent()[1], end)
    if len(formats) == 1 and displs[0] == 0 and formats[0].names is not None and \
            formats[0].itemsize == itemsize:
        return formats[0]       # a struct of one struct: that struct
    return _struct(formats, displs, itemsize)


def _struct(formats, offsets, itemsize):
    """A structured dtype (fields f0, f1... at offsets), aligned when it can be."""
    np = _np()
    spec = {'names': ['f%d' % i for i in range(len(formats))], 'formats': list(formats),
            'offsets': list(offsets), 'itemsize': itemsize}
    try:
        return np.dtype(spec, align=True)
    except (ValueError, TypeError):
        return np.dtype(spec)


# -- alignment (what mpi4py's module offers besides) ----------------------------------------
def _get_alignment_ctypes(typecode):
    """Alignment of a scalar type code, as the C compiler lays it out."""
    import ctypes
    np = _np()
    dtype = np.dtype(typecode)
    if dtype.kind == 'c':       # complex: aligned as its real part
        return _get_alignment_ctypes(np.dtype('f%d' % (dtype.itemsize // 2)))
    table = {1: ctypes.c_int8, 2: ctypes.c_int16, 4: ctypes.c_int32, 8: ctypes.c_int64}
    if dtype.kind == 'f' and dtype.itemsize > 8:
        return ctypes.alignment(ctypes.c_longdouble)
    return ctypes.alignment(table.get(dtype.itemsize, ctypes.c_int8))


def _get_alignment(datatype):
    """Alignment of an MPI datatype: its largest scalar member's."""
    if datatype.combiner in _SCALARS:
        code = MPI._typecode(datatype)
        if code is None:
            return min(max(datatype.Get_size(), 1), 8)
        return _get_alignment_ctypes(code)
    oldtype, combiner, kw = datatype.decode()
    if combiner == 'STRUCT':
        return max([_get_alignment(t) for t in kw['datatypes']] or [1])
    return _get_alignment(oldtype)
