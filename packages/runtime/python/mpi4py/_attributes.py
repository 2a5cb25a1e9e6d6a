"""Attribute caching: the copy and delete callbacks of a keyval (MPI_Comm_create_keyval,
MPI_Type_create_keyval), called as mpi4py calls them.

A duplicate (Dup) gets each attribute whose keyval's copy_fn says so: None or False, not
copied; True, the same value; a callable, what it returns (NotImplemented: not copied).
Deleting an attribute, replacing it or freeing its object calls delete_fn with the value.
An exception in a callback is printed on stderr and the MPI call fails with ERR_OTHER.
"""

import traceback

from ._errors import Exception as MPIException, ERR_OTHER


class Keyvals:
    """The keyvals of one kind of object (communicators, datatypes) and their callbacks."""

    def __init__(self, last):
        self.last = last            # keyvals handed out so far end here
        self.callbacks = {}         # keyval -> (copy_fn, delete_fn)

    def create(self, copy_fn, delete_fn):
        self.last += 1
        if delete_fn is True or delete_fn is False:
            delete_fn = None        # as mpi4py: only a callable is called
        self.callbacks[self.last] = (copy_fn, delete_fn)
        return self.last

    def copied(self, obj, attrs):
        """The attributes a duplicate of obj starts with."""
        new = {}
        for keyval, value in list(attrs.items()):
            copy_fn = self.callbacks.get(keyval, (None, None))[0]
            if copy_fn is None or copy_fn is False:
                continue
            if copy_fn is not True:
                value = _called(copy_fn, obj, keyval, value)
                if value is NotImplemented:
                    continue
            new[keyval] = value
        return new

    def set(self, obj, attrs, keyval, value):
        """Set an attribute; a value it replaces is deleted, as MPI does (the new value is
        kept even if that delete callback fails)."""
        had, old = keyval in attrs, attrs.get(keyval)
        attrs[keyval] = value
        if had:
            self._deleted(obj, keyval, old)

    def delete(self, obj, attrs, keyval):
        if keyval in attrs:
            self._deleted(obj, keyval, attrs.pop(keyval))

    def delete_all(self, obj, attrs):
        """When obj is freed: every attribute's delete callback, all of them even if one
        fails (the first failure is raised at the end; the caller frees obj regardless)."""
        failure = None
        for keyval in list(attrs):
            try:
                self.delete(obj, attrs, keyval)
            except MPIException as error:
                failure = failure or error
        if failure is not None:
            raise failure

    def _deleted(self, obj, keyval, value):
        delete_fn = self.callbacks.get(keyval, (None, None))[1]
        if delete_fn is not None:
            _called(delete_fn, obj, keyval, value)


def _called(fn, *args):
    try:
        return fn(*args)
    except Exception:
        traceback.print_exc()
        raise MPIException(ERR_OTHER) from None
