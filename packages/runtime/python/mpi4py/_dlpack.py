"""The DLPack C ABI (dlpack.h v0.x, the `dltensor` capsule) as ctypes structures, and the
two capsule calls needed to take a tensor out of its capsule (used by _foreign)."""

import ctypes


class DLDevice(ctypes.Structure):
    _fields_ = [('device_type', ctypes.c_uint), ('device_id', ctypes.c_int)]


class DLDataType(ctypes.Structure):
    _fields_ = [('code', ctypes.c_uint8), ('bits', ctypes.c_uint8),
                ('lanes', ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [('data', ctypes.c_void_p), ('device', DLDevice), ('ndim', ctypes.c_int),
                ('dtype', DLDataType), ('shape', ctypes.POINTER(ctypes.c_int64)),
                ('strides', ctypes.POINTER(ctypes.c_int64)),
                ('byte_offset', ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [('dl_tensor', DLTensor), ('manager_ctx', ctypes.c_void_p),
                ('deleter', ctypes.CFUNCTYPE(None, ctypes.c_void_p))]


DLManagedTensor_p = ctypes.POINTER(DLManagedTensor)

_api = ctypes.pythonapi
_is_valid = _api.PyCapsule_IsValid
_is_valid.restype = ctypes.c_int
_is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_get_pointer = _api.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_set_name = _api.PyCapsule_SetName
_set_name.restype = ctypes.c_int
_set_name.argtypes = [ctypes.py_object, ctypes.c_char_p]
_USED = ctypes.c_char_p(b'used_dltensor')     # the name must outlive the capsule


def capsule_pointer(capsule):
    """The DLManagedTensor* of a live `dltensor` capsule, or None."""
    if not _is_valid(capsule, b'dltensor'):
        return None
    return _get_pointer(capsule, b'dltensor')


def capsule_rename(capsule):
    """Mark the capsule consumed, so its destructor does not free the tensor again."""
    _set_name(capsule, _USED)
