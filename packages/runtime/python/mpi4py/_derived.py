"""Simple derived datatypes, as pure-Python pack/unpack.

A derived datatype here is one base datatype laid out in blocks: contiguous, vector,
hvector, indexed, hindexed, indexed_block, hindexed_block, resized, subarray, darray (and
struct, whose members may be of several predefined types).  Its layout is a list of byte
segments `(offset, length)` within one element, plus MPI's lb/extent.  The agent only
moves contiguous bytes, so a message of a derived type travels *packed*: a send copies the
segments out into one buffer, a receive lands in a packed scratch buffer that is copied
back into the user's segments when the request completes (Request._complete runs the
unpack registered while parsing).

This module knows layouts and bytes only; the Datatype objects are _datatypes' (which
imports this one, never the other way round).
"""

from _thread import _local

from ._errors import Exception as MPIException, ERR_TYPE, ERR_ARG


def segments_of(dt):
    """Byte segments of one element of dt (a predefined type moves its whole extent, as
    everywhere else in the shim)."""
    segs = dt._segs
    return [(0, dt._extent)] if segs is None else segs


# -- layouts: (segments, lb, extent, size) of one element of a new derived type; the
# Datatype around a layout is made by _datatypes ------------------------------------------
def build(child, displs, blocklengths):
    """The layout of blocks of `blocklengths[j]` children at byte displacement
    `displs[j]`, with MPI's lb/ub rules (lb/ub of the blocks' children, not of the data)."""
    if child._null:
        raise MPIException(ERR_TYPE)
    cext, clb = child._extent, child._lb
    csegs = segments_of(child)
    solid = len(csegs) == 1 and csegs[0] == (0, cext)
    segs, lbs, ubs = [], [], []
    for d, n in zip(displs, blocklengths):
        d, n = int(d), int(n)
        if n < 0:
            raise ValueError('negative block length %d' % n)
        if n == 0:
            continue
        lbs.append(d + clb)
        ubs.append(d + clb + n * cext)
        if solid:
            _append(segs, d, n * cext)
            continue
        for k in range(n):
            base = d + k * cext
            for off, length in csegs:
                _append(segs, base + off, length)
    lb = min(lbs) if lbs else 0
    ub = max(ubs) if ubs else 0
    size = child._size * sum(int(n) for n in blocklengths if int(n) > 0)
    return segs, lb, ub - lb, size


def resized(child, lb, extent):
    return list(segments_of(child)), int(lb), int(extent), child._size


def dup(dt):
    return list(segments_of(dt)), dt._lb, dt._extent, dt._size


def alignment(dt):
    """Alignment of a type's elements (Open MPI pads a struct's extent to the largest)."""
    align = dt.__dict__.get('_align')
    if align is None:
        if dt._segs is None:
            align = dt._dtype().alignment if dt._size else 1
        else:
            align = alignment(dt._base)
    return align


def struct(blocklengths, displs, types):
    """MPI_Type_create_struct: blocks of different types.  Returns (layout, alignment,
    the one base type of all the blocks or None when they mix types): a struct of one
    base type keeps it (reductions still see its elements), a mixed one moves as bytes."""
    segs, lbs, ubs, size, align = [], [], [], 0, 1
    for d, n, t in zip(displs, blocklengths, types):
        d, n = int(d), int(n)
        t._chk()
        if n <= 0:
            continue
        cext, clb = t._extent, t._lb
        for k in range(n):
            for off, length in segments_of(t):
                _append(segs, d + k * cext + off, length)
        lbs.append(d + clb)
        ubs.append(d + clb + n * cext)
        size += n * t._size
        align = max(align, alignment(t))
    lb = min(lbs) if lbs else 0
    extent = (max(ubs) if ubs else 0) - lb
    if extent % align:
        extent += align - extent % align
    bases = {(t if t._base is None else t._base)._name for t in types}
    same = types[0] if len(bases) == 1 and types else None
    return (segs, lb, extent, size), align, same


def subarray(child, sizes, subsizes, starts, order):
    """MPI_Type_create_subarray: the subsizes block at starts of a sizes array (C or
    Fortran order); its extent is the whole array's, lb 0."""
    ndim = len(sizes)
    if not (len(subsizes) == len(starts) == ndim) or ndim < 1:
        raise ValueError('subarray: sizes, subsizes and starts differ in length')
    for n, s, st in zip(sizes, subsizes, starts):
        if s < 1 or n < 1 or st < 0 or st + s > n:
            raise MPIException(ERR_ARG)
    dims = list(range(ndim)) if order == 1 else list(range(ndim - 1, -1, -1))
    # byte stride of each dimension, fastest first
    stride, strides = child._extent, {}
    for i in dims:
        strides[i] = stride
        stride *= sizes[i]
    fast, rest = dims[0], dims[1:]
    displs = [0]
    for i in rest:
        displs = [d + (starts[i] + k) * strides[i] for k in range(subsizes[i]) for d in displs]
    base = starts[fast] * strides[fast]
    segs, _, _, size = build(child, [base + d for d in displs], [subsizes[fast]] * len(displs))
    total = child._extent
    for n in sizes:
        total *= n
    return segs, 0, total, size


def darray(child, size, rank, gsizes, distribs, dargs, psizes, order):
    """MPI_Type_create_darray: the elements of a gsizes array that process `rank` of a
    psizes grid (ranks in row-major order) owns under block/cyclic/none distributions, in
    the array's order; extent the whole array's, lb 0."""
    ndim = len(gsizes)
    if not (len(distribs) == len(dargs) == len(psizes) == ndim) or ndim < 1:
        raise MPIException(ERR_ARG)
    nprocs = 1
    for p in psizes:
        nprocs *= p
    if nprocs != size or not 0 <= rank < size:
        raise MPIException(ERR_ARG)
    coords, r = [], rank                    # row-major process grid, as MPI says
    for p in reversed(psizes):
        coords.append(r % p)
        r //= p
    coords.reverse()
    owned = []                              # global indices owned, per dimension
    for g, dist, darg, p, c in zip(gsizes, distribs, dargs, psizes, coords):
        if dist == 2:                       # DISTRIBUTE_NONE
            if p != 1:
                raise MPIException(ERR_ARG)
            owned.append(list(range(g)))
        elif dist == 0:                     # DISTRIBUTE_BLOCK
            b = -(-g // p) if darg == -1 else darg
            if b * p < g:
                raise MPIException(ERR_ARG)
            owned.append(list(range(c * b, min((c + 1) * b, g))))
        elif dist == 1:                     # DISTRIBUTE_CYCLIC
            b = 1 if darg == -1 else darg
            owned.append([i for i in range(g) if (i // b) % p == c])
        else:
            raise MPIException(ERR_ARG)
    dims = list(range(ndim)) if order == 1 else list(range(ndim - 1, -1, -1))
    stride, strides = child._extent, [0] * ndim
    for i in dims:                          # fastest dimension first
        strides[i] = stride
        stride *= gsizes[i]
    displs = [0]
    for i in reversed(dims):                # slowest dimension outermost
        displs = [d + k * strides[i] for d in displs for k in owned[i]]
    segs, _, _, nbytes = build(child, displs, [1] * len(displs))
    return segs, 0, stride, nbytes


def _append(segs, off, length):
    # adjacent segments merge, so a contiguous/vector layout stays a few big copies
    if segs and segs[-1][0] + segs[-1][1] == off:
        segs[-1] = (segs[-1][0], segs[-1][1] + length)
    else:
        segs.append((off, length))


def packed_size(dt):
    """Bytes one element takes once packed."""
    total = 0
    for _, length in segments_of(dt):
        total += length
    return total


def check_span(dt, nbytes, start, count):
    """ValueError unless `count` elements starting at byte `start` fit in nbytes."""
    segs = segments_of(dt)
    if count <= 0 or not segs:      # nothing to move (an empty darray piece, ...)
        return
    lo = min(off for off, _ in segs)
    hi = max(off + length for off, length in segs)
    first, last = start + lo, start + (count - 1) * dt._extent + hi
    if first < 0 or last > nbytes:
        raise ValueError('message: buffer length %d is too small for %d entries of the '
                         'derived datatype (extent %d)' % (nbytes, count, dt._extent))


def pack(mv, dt, start, count, out, at):
    """Copy `count` elements at byte `start` of mv into out[at:], packed; returns the end."""
    segs, ext = segments_of(dt), dt._extent
    for i in range(count):
        base = start + i * ext
        for off, length in segs:
            out[at:at + length] = mv[base + off:base + off + length]
            at += length
    return at


def unpack(src, at, dt, mv, start, count):
    """Inverse of pack: scatter packed src[at:] into `count` elements at byte `start`."""
    segs, ext = segments_of(dt), dt._extent
    for i in range(count):
        base = start + i * ext
        for off, length in segs:
            mv[base + off:base + off + length] = src[at:at + length]
            at += length
    return at


# -- unpacks owed by receives being set up ---------------------------------------------
# Parsing a receive buffer of a derived type registers how to copy the scratch buffer back;
# the request the call then posts takes them (Request._post) and runs them on completion.
# Per thread: two threads setting up receives at once must not take each other's.
_owing = _local()


def owe(fn):
    owed = getattr(_owing, 'fns', None)
    if owed is None:
        owed = _owing.fns = []
    owed.append(fn)


def take_owed():
    fns = getattr(_owing, 'fns', None)
    if not fns:
        return None
    _owing.fns = None
    if len(fns) == 1:
        return fns[0]
    return lambda: [fn() for fn in fns]


def drop_owed():
    _owing.fns = None
