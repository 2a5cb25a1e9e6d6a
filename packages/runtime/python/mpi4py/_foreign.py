"""Buffers exported without the buffer protocol: DLPack (`__dlpack__`) and the CUDA array
interface (`__cuda_array_interface__`), as torch, JAX, CuPy and Numba hand them to mpi4py.

Only host memory can be used here (there is no GPU behind a rank): a DLPack tensor must
live on kDLCPU (or CUDA host / managed memory, which the CPU can address), and a CUDA array
interface pointer is taken as a host address (what mpi4py's own tests export).  Both
become a 1-D byte memoryview of the object's memory plus a buffer format for the datatype,
with mpi4py 3.1.4's checks (contiguous C or Fortran order, no negative shapes, no masks).
The view keeps the exporting object alive.  ctypes is imported only when one is met.
"""

_HOST_DEVICES = (1, 3, 13)      # kDLCPU, kDLCUDAHost, kDLCUDAManaged

# DLPack dtype (code, bits) -> buffer format of the matching C type on x86-64 Linux
_DL_FORMATS = {
    (0, 8): 'b', (0, 16): 'h', (0, 32): 'i', (0, 64): 'l',
    (1, 8): 'B', (1, 16): 'H', (1, 32): 'I', (1, 64): 'L',
    (2, 16): 'e', (2, 32): 'f', (2, 64): 'd', (2, 128): 'g',
    (5, 64): 'Zf', (5, 128): 'Zd', (5, 256): 'Zg',
}
# float pairs as complex (lanes == 2), as mpi4py reads them
_DL_LANES2 = {32: 'Zf', 64: 'Zd', 128: 'Zg'}
# __cuda_array_interface__ typestr kind -> {itemsize: format}
_CAI_FORMATS = {
    'b': {1: '?'},
    'i': {1: 'b', 2: 'h', 4: 'i', 8: 'l'},
    'u': {1: 'B', 2: 'H', 4: 'I', 8: 'L'},
    'f': {2: 'e', 4: 'f', 8: 'd', 16: 'g'},
    'c': {4: 'Ze', 8: 'Zf', 16: 'Zd', 32: 'Zg'},
}


def exports(obj):
    """Whether obj offers one of the two interfaces."""
    return hasattr(obj, '__dlpack__') or hasattr(obj, '__cuda_array_interface__')


def getbuffer(obj, readonly):
    """(1-D byte memoryview, format) of a DLPack / CUDA-array-interface object."""
    if hasattr(obj, '__dlpack__'):
        return _dlpack(obj)
    return _cai(obj, readonly)


def _view(obj, address, nbytes, readonly):
    """Byte view of nbytes at address that holds a reference to obj."""
    import ctypes
    if nbytes == 0:
        mv = memoryview(bytearray(0))
    else:
        holder = type('_Memory', (ctypes.c_char * nbytes,), {})
        mem = holder.from_address(address)
        mem.owner = obj      # the memory lives as long as its exporter
        mv = memoryview(mem).cast('B')
    return mv.toreadonly() if readonly else mv


def _contiguous(shape, strides, itemsize):
    """C or Fortran contiguous (strides in bytes; dimensions of 0/1 don't count)."""
    for order in (reversed(range(len(shape))), range(len(shape))):
        size, ok = itemsize, True
        for i in order:
            if shape[i] > 1 and strides[i] != size:
                ok = False
                break
            size *= shape[i]
        if ok:
            return True
    return False


def _cai(obj, readonly):
    cai = obj.__cuda_array_interface__
    address, ro = cai['data']
    typestr, shape = cai['typestr'], tuple(cai['shape'])
    strides = cai.get('strides')
    if cai.get('mask') is not None:
        raise BufferError('__cuda_array_interface__: cannot handle masked arrays')
    size = 1
    for n in shape:
        size *= n
    if size < 0:
        raise BufferError('__cuda_array_interface__: buffer with negative size '
                          '(shape:%s, size:%d)' % (shape, size))
    kind, itemsize = typestr[1], int(typestr[2:])
    if strides is not None and not _contiguous(shape, strides, itemsize):
        raise BufferError('__cuda_array_interface__: buffer is not contiguous '
                          '(shape:%s, strides:%s, itemsize:%d)' % (shape, strides, itemsize))
    if ro and not readonly:
        raise BufferError('Object is not writable.')
    fmt = _CAI_FORMATS.get(kind, {}).get(itemsize, 'B')
    return _view(obj, address or 0, size * itemsize, ro), fmt


def _dlpack(obj):
    import ctypes
    from ._dlpack import DLManagedTensor_p, capsule_pointer, capsule_rename
    try:
        device_type, _ = obj.__dlpack_device__()
    except AttributeError:
        raise NotImplementedError('dlpack: missing support') from None
    if device_type not in _HOST_DEVICES:
        raise BufferError('dlpack: device memory (type %d) is not reachable from an mpiaas '
                          'rank, which has no GPU' % device_type)
    capsule = obj.__dlpack__() if device_type == 1 else obj.__dlpack__(stream=-1)
    pointer = capsule_pointer(capsule)
    if not pointer:
        raise BufferError('dlpack: invalid capsule object')
    managed = ctypes.cast(pointer, DLManagedTensor_p).contents
    try:
        t = managed.dl_tensor
        ndim = t.ndim
        if ndim < 0:
            raise BufferError('dlpack: number of dimensions is negative')
        if ndim > 0 and not t.shape:
            raise BufferError('dlpack: shape is NULL')
        shape = [t.shape[i] for i in range(ndim)]
        if any(n < 0 for n in shape):
            raise BufferError('dlpack: shape item is negative')
        code, bits, lanes = t.dtype.code, t.dtype.bits, t.dtype.lanes
        itembytes = (bits * lanes + 7) // 8
        if t.strides:
            strides = [t.strides[i] for i in range(ndim)]
            if any(s < 0 for s in strides):
                raise BufferError('dlpack: strides item is negative')
            # DLPack strides count elements
            if not _contiguous(shape, [s * itembytes for s in strides], itembytes):
                raise BufferError('dlpack: buffer is not contiguous')
        size = itembytes
        for n in shape:
            size *= n
        if lanes == 1:
            fmt = _DL_FORMATS.get((code, bits), 'B')
        else:
            fmt = _DL_LANES2.get(bits, 'B') if code == 2 and lanes == 2 else 'B'
        address = (t.data or 0) + t.byte_offset
    finally:
        # as mpi4py: the exporter's memory stays with obj; the tensor is released at once
        if managed.deleter:
            managed.deleter(ctypes.cast(pointer, ctypes.c_void_p))
        capsule_rename(capsule)
    return _view(obj, address, size, False), fmt
