"""Asking the agent to do a reduction once for all its ranks (engine/agent-fold.ts).

An Allreduce travels as an allgather: without help every rank would get all N buffers and
fold them itself, N folds of the same data. (A Reduce, a gather folded at its root alone,
and a Reduce_scatter, each rank folding its own block, stay with the ranks: nothing is
folded twice there, and the agent's one thread taking their folds over measured slower.)
When the
fold is one the agent can do exactly as numpy would (a predefined SUM, PROD, MAX or MIN of a
basic little-endian number type), the contribution carries a description of it, with the
grouping of _grouping (Open MPI's order of partial results), and the agent answers with the
folded buffer: one part instead of N. The handler (_collective_results.fold_into) takes a
single part as the result, so a reply the agent could not fold (N parts) still works.
"""

from ._memo import memoized

from ._grouping import program

_OPS = {'SUM': 'sum', 'PROD': 'prod', 'MAX': 'max', 'MIN': 'min'}
_TYPES = {'<f8': 'f8', '<f4': 'f4', '|i1': 'i1', '<i2': 'i2', '<i4': 'i4', '<i8': 'i8',
          '|u1': 'u1', '<u2': 'u2', '<u4': 'u4', '<u8': 'u8'}


def fold_field(op, dt, count, nparts, kind, root=0):
    """The header field (b',"fold":"..."') asking the agent to fold, or b'' when it cannot
    (see describe) or when the description is long and saves less than it costs."""
    key = _key(op, dt)
    return b'' if key is None else _field(key, count, nparts, kind, root)


def describe(op, dt, count, nparts, kind, root=0):
    """The fold spec for the agent (engine/agent-fold.ts: op/type/count/ranges), or None for
    a fold it cannot do exactly: a user-defined or logical op, a derived, complex, bool or
    big-endian type."""
    key = _key(op, dt)
    return None if key is None else _spec(key, count, nparts, kind, root)


def _key(op, dt):
    name = _OPS.get(getattr(op, '_name', None))
    if name is None or dt._segs is not None:
        return None
    dtype = dt._dtype()
    code = _TYPES.get(dtype.str)
    if code is None or dtype.itemsize != dt._extent:
        return None
    return name, code


@memoized(256)
def _field(key, count, nparts, kind, root):
    field = (',"fold":"%s"' % _spec(key, count, nparts, kind, root)).encode()
    saved = (nparts - 1) * count * int(key[1][1])
    if len(field) > 256 and len(field) > saved:
        # a long grouping (a ring over dozens of ranks) for a few elements: the header
        # would cost more than the parts it spares the reply
        return b''
    return field


def _spec(key, count, nparts, kind, root):
    name, code = key
    ranges = program(kind, nparts, count, int(code[1]), root)
    text = '' if ranges is None else ';'.join(
        '%d-%d:%s' % (first, stop, ','.join('.' if s is None else str(s) for s in steps))
        for first, stop, steps in ranges)
    return '%s/%s/%d/%s' % (name, code, count, text)
