"""What MPI says about how a datatype was made: combiners, Get_envelope, Get_contents
(computed from the constructor's keywords that `decode` returns), and the Fortran 90
parameterized types and Match_size, with Open MPI 4.1's values."""

from ._api_release import is_4x
from ._errors import Exception as MPIException, ERR_TYPE, ERR_ARG

COMBINER_NAMED, COMBINER_DUP, COMBINER_CONTIGUOUS, COMBINER_VECTOR = 0, 1, 2, 3
COMBINER_HVECTOR, COMBINER_INDEXED, COMBINER_HINDEXED = 5, 6, 8
COMBINER_INDEXED_BLOCK, COMBINER_STRUCT, COMBINER_SUBARRAY, COMBINER_DARRAY = 9, 11, 12, 13
COMBINER_F90_REAL, COMBINER_F90_COMPLEX, COMBINER_F90_INTEGER = 14, 15, 16
COMBINER_RESIZED, COMBINER_HINDEXED_BLOCK = 17, 18
TYPECLASS_INTEGER, TYPECLASS_REAL, TYPECLASS_COMPLEX = 1, 2, 3
TYPECLASS_LOGICAL = -32766     # MPI 4.1's; Open MPI 4.1 has none: MPI_UNDEFINED (mpi4py 4.x)

__all__ = [n for n in dir() if n.startswith(('COMBINER_', 'TYPECLASS_'))]


def _ints_addrs_types(dt):
    """(integers, addresses, datatypes) of MPI_Type_get_contents."""
    old, name, kw = dt._decoded
    if name == 'DUP':
        return [], [], [old]
    if name == 'CONTIGUOUS':
        return [kw['count']], [], [old]
    if name == 'VECTOR':
        return [kw['count'], kw['blocklength'], kw['stride']], [], [old]
    if name == 'HVECTOR':
        return [kw['count'], kw['blocklength']], [kw['stride']], [old]
    if name == 'INDEXED':
        bl, dp = kw['blocklengths'], kw['displacements']
        return [len(bl)] + list(bl) + list(dp), [], [old]
    if name == 'HINDEXED':
        bl, dp = kw['blocklengths'], kw['displacements']
        return [len(bl)] + list(bl), list(dp), [old]
    if name == 'INDEXED_BLOCK':
        dp = kw['displacements']
        return [len(dp), kw['blocklength']] + list(dp), [], [old]
    if name == 'HINDEXED_BLOCK':
        dp = kw['displacements']
        return [len(dp), kw['blocklength']], list(dp), [old]
    if name == 'STRUCT':
        bl = kw['blocklengths']
        return [len(bl)] + list(bl), list(kw['displacements']), list(kw['datatypes'])
    if name == 'SUBARRAY':
        return ([len(kw['sizes'])] + kw['sizes'] + kw['subsizes'] + kw['starts'] +
                [kw['order']], [], [old])
    if name == 'DARRAY':
        return ([kw['size'], kw['rank'], len(kw['gsizes'])] + kw['gsizes'] + kw['distribs'] +
                kw['dargs'] + kw['psizes'] + [kw['order']], [], [old])
    if name == 'RESIZED':
        return [], [kw['lb'], kw['extent']], [old]
    if name == 'F90_INTEGER':
        return [kw['r']], [], []
    return [kw['p'], kw['r']], [], []      # F90_REAL, F90_COMPLEX


# mpi4py 4.x (MPI 4.0's large-count forms) adds a count of large counts: (ni, na, nc, nd,
# combiner) and (integers, addresses, counts, datatypes). A job chooses which (_api_release);
# the shim never has large counts to report, so nc is 0 and the counts empty.
def combiner_of(dt):
    """The combiner of how dt was made (COMBINER_NAMED for a named type), without building
    its contents as the envelope does."""
    return COMBINER_NAMED if dt._decoded is None else globals()['COMBINER_' + dt._decoded[1]]


def envelope(dt):
    combiner = combiner_of(dt)
    i, a, d = ((), (), ()) if dt._decoded is None else _ints_addrs_types(dt)
    if is_4x():
        return (len(i), len(a), 0, len(d), combiner)
    return (len(i), len(a), len(d), combiner)


def decoded(dt):
    """What Datatype.decode() answers: (oldtype, combiner name, constructor keywords), the
    keywords and the derived datatypes' handles fresh copies (callers may change or free
    them, as MPI_Type_get_contents's). A named type gives itself in 3.1.4 and
    (itself, 'NAMED', {}) in 4.x; a struct's oldtype is DATATYPE_NULL, in 4.x its one
    datatype when it has only one (as mpi4py builds it from MPI_Type_get_contents); an F90
    type's is DATATYPE_NULL."""
    if dt._decoded is None:
        return (dt, 'NAMED', {}) if is_4x() else dt
    from ._datatypes import DATATYPE_NULL, _kept
    old, name, kwargs = dt._decoded
    kwargs = {key: list(value) if isinstance(value, list) else value
              for key, value in kwargs.items()}
    if 'datatypes' in kwargs:
        kwargs['datatypes'] = [_kept(t) for t in kwargs['datatypes']]
    if name == 'STRUCT':
        types = kwargs['datatypes']
        old = types[0] if len(types) == 1 and is_4x() else DATATYPE_NULL
    elif name.startswith('F90_'):
        old = DATATYPE_NULL         # made of no datatype (the marker keeps itself as its old)
    else:
        old = _kept(old)
    return (old, name, kwargs)


def contents(dt):
    if dt._decoded is None:
        raise MPIException(ERR_TYPE)        # a named type has no contents
    from ._datatypes import _kept
    i, a, d = _ints_addrs_types(dt)
    d = [_kept(t) for t in d]      # handles of their own: freeing them frees no part of dt
    return (i, a, [], d) if is_4x() else (i, a, d)


# -- Fortran 90 parameterized types -------------------------------------------------------
def _marked(predefined, name, kwargs):
    from ._datatypes import Datatype
    dt = Datatype(predefined)
    dt._label = 'COMBINER ' + predefined._name      # what Open MPI names them
    dt._decoded = (dt, name, kwargs)
    return dt


def f90_integer(r):
    from . import _datatypes as t
    for digits, kind in ((2, t.INTEGER1), (4, t.INTEGER2), (9, t.INT), (18, t.INTEGER8)):
        if r <= digits:
            return _marked(kind, 'F90_INTEGER', {'r': r})
    raise MPIException(ERR_ARG)


def f90_real(p, r, complex_):
    from . import _datatypes as t
    kinds = ((6, 37, t.FLOAT, t.COMPLEX), (15, 307, t.DOUBLE, t.DOUBLE_COMPLEX),
             (33, 4931, t.LONG_DOUBLE, t.COMPLEX32))
    for digits, exponent, real, cplx in kinds:
        if (p is None or p <= digits) and (r is None or r <= exponent):
            return _marked(cplx if complex_ else real,
                           'F90_COMPLEX' if complex_ else 'F90_REAL', {'p': p, 'r': r})
    raise MPIException(ERR_ARG)


def match_size(typeclass, size):
    from . import _datatypes as t
    table = {TYPECLASS_INTEGER: (t.INTEGER1, t.INTEGER2, t.INTEGER, t.INTEGER8),
             TYPECLASS_REAL: (t.REAL4, t.REAL, t.REAL8, t.REAL16),
             TYPECLASS_COMPLEX: (t.COMPLEX8, t.COMPLEX16, t.COMPLEX32)}
    for dt in table.get(typeclass, ()):
        if dt._size == size:
            return dt
    raise MPIException(ERR_ARG)
