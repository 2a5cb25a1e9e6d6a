"""Reductions for engine/agent-fold.spec.ts: for every op and type the agent may fold, the
spec this shim sends (_agent_fold.describe), the parts (base64), and what the shim's own fold
(_ops.fold_buffers, numpy) makes of them. One JSON object per line; the spec checks the
agent's result is the same, bit for bit.

Values include what numpy treats specially: NaN, +-0.0, +-inf, magnitudes far apart (so a
sum depends on its grouping) and integers that overflow their type.
"""
import base64
import json
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit('/tests/', 1)[0])
from mpi4py import MPI                          # noqa: E402
from mpi4py._agent_fold import describe         # noqa: E402
from mpi4py._ops import fold_buffers            # noqa: E402

TYPES = (MPI.DOUBLE, MPI.FLOAT, MPI.INT8_T, MPI.INT16_T, MPI.INT32_T, MPI.INT64_T,
         MPI.UINT8_T, MPI.UINT16_T, MPI.UINT32_T, MPI.UINT64_T)
OPS = (MPI.SUM, MPI.PROD, MPI.MAX, MPI.MIN)
# (kind, nparts, count, root): left folds (2 parts), Open MPI's ring, recursive doubling,
# Rabenseifner and the Reduce trees, with counts either side of where they change (the
# largest only for floats: an integer result does not depend on the grouping)
SHAPES = [('allreduce', n, c, 0) for n in (1, 2, 3, 4, 5, 8) for c in (1, 3, 7, 600, 1500)]
SHAPES += [('reduce', n, c, root) for n in (3, 5, 8) for c in (1, 9, 700) for root in (0, n - 1)]
# past Open MPI's rules this shim reproduces (256 ranks and more): a left fold
SHAPES += [('allreduce', n, 1, 0) for n in (256, 300)]


def parts_of(dtype, nparts, count, rng):
    if dtype.kind == 'f':
        values = rng.standard_normal((nparts, count)) * 10.0 ** rng.integers(-20, 20, (nparts, count))
        special = rng.random((nparts, count)) < 0.1
        values[special] = rng.choice([np.nan, 0.0, -0.0, np.inf, -np.inf], special.sum())
        return values.astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, (nparts, count), dtype=dtype, endpoint=True)


def b64(data):
    return base64.b64encode(data).decode()


def main():
    rng = np.random.default_rng(20261205)
    for dt in TYPES:
        dtype = dt._dtype()
        for op in OPS:
            for kind, nparts, count, root in SHAPES:
                if count > 1000 and dtype.kind != 'f':
                    continue
                parts = parts_of(dtype, nparts, count, rng)
                out = bytearray(count * dtype.itemsize)
                grouping = kind if kind == 'allreduce' else (kind, root)
                with np.errstate(all='ignore'):
                    # one contiguous buffer of every part, as the rank's handler has it
                    fold_buffers(op, memoryview(parts.tobytes()), memoryview(out), dt, count, grouping)
                print(json.dumps({'spec': describe(op, dt, count, nparts, kind, root),
                                  'parts': [b64(p.tobytes()) for p in parts],
                                  'expected': b64(out)}))


if __name__ == '__main__':
    main()
