"""Buffer specifications of the upper-case API, as mpi4py 3.1 parses them.

    A                            count and type from the buffer itself
    [A, T]                       count = len(A in bytes) // T.extent (no casting, ever)
    [A, count], [A, (count, displ)]   type from the buffer (T must be a Datatype or a
                                 typechar string to be taken as a type)
    [None or BOTTOM, 0, T]       an empty message
    [A, count, T]                explicit count (per block, for Scatter/Gather/...)
    [A, (count, displ), T]       explicit count and displacement (in elements)
    [A, counts, T]               vector calls: per-rank counts, packed displacements
    [A, (counts, displs), T]     vector calls: per-rank counts and displacements (an
                                 integer count/displ: the same for every rank / a stride)
    [A, counts, displs, T]

A is anything exporting the buffer protocol (numpy array, array.array, bytes, bytearray,
memoryview...).  Everything is reduced to a 1-D byte memoryview of the user's memory, so
sends hand the kernel the user's bytes and receives land directly in the user's buffer;
only a derived datatype T goes through a packed scratch buffer (_derived).
"""

from ._datatypes import Datatype, lookup_format, asdatatype, BYTE
from . import _derived


class _Constant(int):
    """IN_PLACE / BOTTOM: named sentinels (ints, like mpi4py's)."""

    def __new__(cls, value, name):
        self = int.__new__(cls, value)
        self._name = name
        return self

    def __repr__(self):
        return self._name

    __str__ = __repr__


IN_PLACE = _Constant(1, 'IN_PLACE')
BOTTOM = _Constant(0, 'BOTTOM')
BUFFER_AUTOMATIC = _Constant(2, 'BUFFER_AUTOMATIC')    # mpi4py 4.x (MPI 4.1)


def _is_in_place(obj):
    return obj is None or obj is IN_PLACE


def getbuffer(obj, readonly):
    """(1-D byte memoryview, buffer format) of obj."""
    try:
        mv = memoryview(obj)
    except TypeError:
        # the buffer protocol first, as mpi4py; then DLPack / CUDA array interface
        from . import _foreign
        if not _foreign.exports(obj):
            raise
        return _foreign.getbuffer(obj, readonly)
    if not readonly and mv.readonly:
        raise BufferError('Object is not writable.')
    fmt = mv.format
    if mv.ndim == 1 and fmt == 'B':
        return mv, fmt
    if not mv.c_contiguous:
        if mv.f_contiguous and hasattr(obj, 'T'):    # Fortran-ordered numpy array
            mv = memoryview(obj.T)
        else:
            raise BufferError('buffer is not contiguous')
    return mv.cast('B'), fmt


def _datatype_of(fmt, o_type):
    if o_type is None:
        dt = lookup_format(fmt)
        return BYTE if dt is None else dt
    if type(o_type) is Datatype:
        return o_type
    return asdatatype(o_type)


def _is_datatype(obj):
    # mpi4py's test for "the second item names a type": a Datatype or a typechar string
    return isinstance(obj, (Datatype, str))


def _is_integral(obj):
    # an int-like scalar (numpy integers too), but not a sequence: numpy arrays also
    # define __index__
    return hasattr(obj, '__index__') and not hasattr(obj, '__len__')


def _unpack(msg, vector=False):
    """(buf, count, displ, type) from a message spec (None where absent).

    A 2-item spec is [A, T] only when T is a datatype; otherwise it is [A, count] (mpi4py
    parses it so, e.g. `[buf, n]` in Gatherv), and a tuple there is (count, displ).  In
    vector specs only a tuple splits into (counts, displs): a list is the counts."""
    if isinstance(msg, (list, tuple)):
        n = len(msg)
        pair = tuple if vector else (list, tuple)
        if n == 2:
            o_buf, o_count = msg
            if o_count is None or _is_datatype(o_count):
                return o_buf, None, None, o_count
            if isinstance(o_count, pair):
                o_count, o_displ = o_count
                return o_buf, o_count, o_displ, None
            return o_buf, o_count, None, None
        if n == 3:
            o_buf, o_count, o_type = msg
            if isinstance(o_count, pair):
                o_count, o_displ = o_count
                return o_buf, o_count, o_displ, o_type
            return o_buf, o_count, None, o_type
        if n == 4:
            return msg[0], msg[1], msg[2], msg[3]
        raise ValueError('message: expecting 2 to 4 items')
    try:
        getbuffer(msg, True)
    except TypeError:
        raise TypeError('message: expecting buffer or list/tuple') from None
    return msg, None, None, None


def _usable_extent(dt, what):
    """The extent of a datatype a count or a displacement is measured in: a null type, or
    one of extent <= 0, measures nothing (mpi4py's ValueError, not a division by zero)."""
    if dt._null:
        raise ValueError('message: cannot %s, datatype is null' % what)
    ext = dt._extent
    if ext <= 0:
        raise ValueError('message: cannot %s, datatype extent %d (lb:%d, ub:%d)'
                         % (what, ext, dt._lb, dt._lb + ext))
    return ext


def _infer_count(nbytes, dt, blocks):
    ext = _usable_extent(dt, 'infer count')
    if nbytes % ext:
        raise ValueError('message: cannot infer count, buffer length %d is not a multiple '
                         'of datatype extent %d (lb:0, ub:%d)' % (nbytes, ext, ext))
    n = nbytes // ext
    if n % blocks:
        raise ValueError('message: cannot infer count, number of entries %d is not a '
                         'multiple of required number of blocks %d' % (n, blocks))
    return n // blocks


def _no_memory(o_count, o_type):
    """[None, count, T]: no buffer behind the message, as in mpi4py an explicit datatype
    is required; only an empty message (count 0, e.g. a zero-byte Isend) can be described
    this way (a non-empty one relative to BOTTOM is read at T's absolute addresses)."""
    dt = asdatatype(o_type)
    count = 0 if o_count is None else int(o_count)
    if count < 0:
        raise ValueError('message: negative count %d' % count)
    if count > 0:
        raise ValueError('message: buffer is None but count is %d' % count)
    return memoryview(bytearray(0)), 0, dt


def message(msg, readonly, blocks=1):
    """Parse a simple message: (bytes view of count*blocks elements, count, datatype).

    count is per block (Scatter/Gather/Alltoall pass blocks=comm size)."""
    if type(msg) is not list and type(msg) is not tuple:
        # fast path: a bare buffer
        try:
            mv, fmt = getbuffer(msg, readonly)
        except TypeError:
            raise TypeError('message: expecting buffer or list/tuple') from None
        dt = lookup_format(fmt) or BYTE
        ext = dt._extent
        nb = len(mv)
        if nb % ext or (nb // ext) % blocks:
            return mv, _infer_count(nb, dt, blocks), dt
        return mv, nb // ext // blocks, dt
    o_buf, o_count, o_displ, o_type = _unpack(msg)
    if o_buf is BOTTOM and o_count and blocks == 1 and o_displ is None and \
            isinstance(o_type, Datatype) and o_type._segs:
        # [BOTTOM, count, T]: T's displacements are absolute addresses (Get_address)
        count, ext = int(o_count), o_type._extent
        if count > 0:
            segs = o_type._segs
            lo = min(off for off, _ in segs)
            hi = (count - 1) * ext + max(off + n for off, n in segs)
            return _packed(_absolute(lo, hi - lo), o_type, -lo, count, 1, readonly)
    if o_buf is None or o_buf is BOTTOM:
        return _no_memory(o_count, o_type)
    mv, fmt = getbuffer(o_buf, readonly)
    dt = _datatype_of(fmt, o_type)
    ext = dt._extent
    start = 0
    if o_displ is not None:
        displ = int(o_displ)
        if displ < 0:
            raise ValueError('message: negative diplacement %d' % displ)
        if displ > 0:
            ext = _usable_extent(dt, 'handle diplacement')
            start = displ * ext
            if start > len(mv):
                raise ValueError('message: displacement %d out of bounds, number of datatype '
                                 'entries %d' % (displ, len(mv) // ext))
    if o_count is None:
        # what the displacement leaves (mpi4py counts from there)
        rest = len(mv) - start
        count = _infer_count(rest, dt, blocks) if rest else 0
    else:
        count = int(o_count)
        if count < 0:
            raise ValueError('message: negative count %d' % count)
    if dt._segs is not None:
        return _packed(mv, dt, start, count, blocks, readonly)
    end = start + count * blocks * ext
    if end > len(mv):
        raise ValueError('message: buffer length %d is too small for %d entries of '
                         'extent %d' % (len(mv), count * blocks, ext))
    if start or end != len(mv):
        mv = mv[start:end]
    return mv, count, dt


def message_vector(msg, readonly, blocks):
    """Parse a vector message: (whole bytes view, counts, displs, datatype), counts and
    displacements in elements of the datatype."""
    o_buf, o_counts, o_displs, o_type = _unpack(msg, True)
    if o_buf is None or o_buf is BOTTOM:
        # [None, (0, None), T]: an empty message in every block, as _no_memory
        _no_memory(0 if o_counts is None or _is_integral(o_counts) and not o_counts
                   else max(int(c) for c in o_counts), o_type)
        o_buf = bytearray(0)
    mv, fmt = getbuffer(o_buf, readonly)
    dt = _datatype_of(fmt, o_type)
    if o_counts is None:
        c = _infer_count(len(mv), dt, blocks) if len(mv) else 0
        counts = [c] * blocks
        displs = [c * i for i in range(blocks)]
    elif _is_integral(o_counts):
        c = int(o_counts)
        counts = [c] * blocks
        displs = [c * i for i in range(blocks)] if o_displs is None else None
    else:
        counts = [int(x) for x in o_counts]
        if len(counts) != blocks:
            raise ValueError('expecting %d items, got %d' % (blocks, len(counts)))
        displs = None
    if displs is None:
        if o_displs is None:
            displs, acc = [], 0
            for c in counts:
                displs.append(acc)
                acc += c
        elif _is_integral(o_displs):
            # an integral displacement is a stride: block i starts at i * displ
            stride = int(o_displs)
            displs = [stride * i for i in range(blocks)]
        else:
            displs = [int(x) for x in o_displs]
            if len(displs) != blocks:
                raise ValueError('expecting %d items, got %d' % (blocks, len(displs)))
    if dt._segs is not None:
        return _packed_vector(mv, dt, counts, displs, readonly)
    ext = dt._extent
    nb = len(mv)
    for c, d in zip(counts, displs):
        if c and (d + c) * ext > nb:
            raise ValueError('message: buffer length %d is too small for %d entries at '
                             'displacement %d (extent %d)' % (nb, c, d, ext))
    return mv, counts, displs, dt


def _committed(dt):
    if not dt._committed:
        from ._errors import Exception as MPIException, ERR_TYPE
        raise MPIException(ERR_TYPE)


def _packed(mv, dt, start, count, blocks, readonly):
    """A derived-type message as the agent moves it: its elements packed into one scratch
    buffer, described as `count` blocks of the base type. A receive's scratch starts as
    the packed user data (Sendrecv_replace and in-place calls send from it too) and is
    copied back into the user's segments when the request completes."""
    _committed(dt)
    n = count * blocks
    _derived.check_span(dt, len(mv), start, n)
    per = _derived.packed_size(dt)
    scratch = bytearray(per * n)
    _derived.pack(mv, dt, start, n, scratch, 0)
    if not readonly:
        _derived.owe(lambda: _derived.unpack(scratch, 0, dt, mv, start, n))
    base = dt._base
    return memoryview(scratch), count * (per // base._extent), base


def _packed_vector(mv, dt, counts, displs, readonly):
    """_packed for vector calls: block i packed after block i-1, counts and displacements
    in base-type elements of the scratch buffer."""
    _committed(dt)
    ext, base = dt._extent, dt._base
    per = _derived.packed_size(dt)
    k = per // base._extent
    scratch = bytearray(per * sum(counts))
    at, pdispls = 0, []
    for c, d in zip(counts, displs):
        _derived.check_span(dt, len(mv), d * ext, c)
        pdispls.append(at // base._extent)
        at = _derived.pack(mv, dt, d * ext, c, scratch, at)
    if not readonly:
        def unpack_all():
            at = 0
            for c, d in zip(counts, displs):
                at = _derived.unpack(scratch, at, dt, mv, d * ext, c)
        _derived.owe(unpack_all)
    return memoryview(scratch), [c * k for c in counts], pdispls, base


def has_derived(msg):
    """Whether a message spec names a derived datatype (a loop, not any() over a generator:
    every reduction asks twice, and the generator cost half a µs each time)."""
    if isinstance(msg, (list, tuple)):
        for x in msg[1:]:
            if isinstance(x, Datatype) and x._segs is not None:
                return True
    return False


def address_of(location):
    """MPI.Get_address: the memory address of a buffer (or of BOTTOM: 0)."""
    if location is BOTTOM or location is None:
        return 0
    mv = getbuffer(location, True)[0]
    if not len(mv):
        return 0
    import ctypes
    if not mv.readonly:
        return ctypes.addressof(ctypes.c_char.from_buffer(mv))
    import numpy    # a read-only buffer: ctypes will not take it, numpy tells its address
    return int(numpy.frombuffer(mv, dtype='u1').ctypes.data)


def _absolute(address, nbytes):
    """A byte view of nbytes of this process's memory at an absolute address (what a
    message relative to MPI_BOTTOM describes, its datatype holding Get_address values)."""
    if nbytes <= 0:
        return memoryview(bytearray(0))
    import ctypes
    return memoryview((ctypes.c_char * nbytes).from_address(address)).cast('B')


def _unpack_w(msg, blocks):
    """The parts of an Alltoallw spec as mpi4py reads them: [A, types], [A, (counts, displs),
    types] or [A, counts, displs, types]. Without counts and displacements each peer gets
    one element at the start of A; BOTTOM needs both (the types hold absolute addresses)."""
    if not isinstance(msg, (list, tuple)):
        raise TypeError('message: expecting a list or tuple')
    if len(msg) == 2:
        (o_buf, o_types), o_counts, o_displs = msg, None, None
    elif len(msg) == 3:
        o_buf, (o_counts, o_displs), o_types = msg
    elif len(msg) == 4:
        o_buf, o_counts, o_displs, o_types = msg
    else:
        raise ValueError('message: expecting 2 to 4 items')
    if o_buf is BOTTOM:
        if o_counts is None:
            raise ValueError('message: BOTTOM requires counts')
        if o_displs is None:
            raise ValueError('message: BOTTOM requires displs')
    if isinstance(o_types, (list, tuple)) and len(o_types) != blocks:
        raise ValueError('message: expecting %d items, got %d' % (blocks, len(o_types)))
    if o_counts is None and o_displs is None:
        o_counts, o_displs = [1] * blocks, [0] * blocks
    for part in (o_counts, o_displs):
        if part is not None and len(part) != blocks:
            raise ValueError('message: expecting %d items, got %d' % (blocks, len(part)))
    if o_buf is None:
        # no memory behind it (as an empty message's): nothing may be read or written
        for count in o_counts:
            if int(count) > 0:
                raise ValueError('message: buffer is None but count is %d' % int(count))
    return o_buf, o_counts, o_displs, o_types


def message_w_slots(msg, readonly, blocks):
    """An Alltoallw spec [A, (counts, displs), types] as one byte slot per peer (what the
    agent moves). A is a buffer or BOTTOM (the types then hold absolute addresses, from
    Get_address); byte displacements; a derived type's slot is its elements packed, and a
    receive's packed slot is copied back into place when the request completes."""
    o_buf, o_counts, o_displs, o_types = _unpack_w(msg, blocks)
    bottom = o_buf is None or o_buf is BOTTOM
    plain = not bottom and not (isinstance(o_types, (list, tuple)) and
                                any(asdatatype(t)._segs is not None for t in o_types)) \
        and not (isinstance(o_types, Datatype) and o_types._segs is not None)
    if plain:
        mv, displs, lens, _ = message_w(msg, readonly, blocks)
        return [mv[d:d + n] for d, n in zip(displs, lens)]
    mv = None if bottom else getbuffer(o_buf, readonly)[0]
    counts = [int(x) for x in o_counts]
    if isinstance(o_types, (list, tuple)):
        types = [asdatatype(t) for t in o_types]
    else:
        types = [asdatatype(o_types)] * blocks
    if o_displs is None:
        displs, acc = [], 0
        for c, t in zip(counts, types):
            displs.append(acc)
            acc += c * t._extent
    else:
        displs = [int(x) for x in o_displs]
    return [_w_slot(mv, d, c, t, readonly) for c, d, t in zip(counts, displs, types)]


def _w_slot(mv, displ, count, dt, readonly):
    if count <= 0:
        return memoryview(bytearray(0))
    dt._chk()
    segs, ext = _derived.segments_of(dt), dt._extent
    if mv is None:      # relative to BOTTOM: the segments are absolute addresses
        lo = displ + min(off for off, _ in segs)
        hi = displ + (count - 1) * ext + max(off + n for off, n in segs)
        view, start = _absolute(lo, hi - lo), displ - lo
    else:
        view, start = mv, displ
    if dt._segs is None:
        end = start + count * ext
        if start < 0 or end > len(view):
            raise ValueError('message: buffer length %d is too small for %d entries at '
                             'byte displacement %d' % (len(view), count, displ))
        return view[start:end]
    _committed(dt)
    _derived.check_span(dt, len(view), start, count)
    scratch = bytearray(_derived.packed_size(dt) * count)
    _derived.pack(view, dt, start, count, scratch, 0)
    if not readonly:
        _derived.owe(lambda: _derived.unpack(scratch, 0, dt, view, start, count))
    return memoryview(scratch)


def message_w(msg, readonly, blocks):
    """Alltoallw spec [A, (counts, displs), types]: displacements are in BYTES and each
    peer has its own datatype. Returns (bytes view, byte offsets, byte lengths, types)."""
    o_buf, o_counts, o_displs, o_types = _unpack_w(msg, blocks)
    mv, fmt = getbuffer(o_buf, readonly)
    counts = [int(x) for x in o_counts]
    if isinstance(o_types, (list, tuple)):
        types = [asdatatype(t) for t in o_types]
    else:
        types = [asdatatype(o_types)] * blocks
    if any(t._segs is not None for t in types):
        from ._unsupported import unsupported
        unsupported('Comm.Alltoallw (with derived datatypes)')
    if o_displs is None:
        displs, acc = [], 0
        for c, t in zip(counts, types):
            displs.append(acc)
            acc += c * t._extent
    else:
        displs = [int(x) for x in o_displs]
    lens = [c * t._extent for c, t in zip(counts, types)]
    return mv, displs, lens, types
