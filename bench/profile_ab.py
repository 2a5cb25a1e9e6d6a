# The cost of the shim's always-on profile, measured inside one run: the operations of
# mpi_micro.py in blocks, alternately with the profile's timers taken out (baseline) and put
# back (mpi4py._profile.set_enabled), every rank switching at the same block. The machine's
# load drifts over both alike. Prints one JSON object from rank 0: per operation, µs per
# call off and on (over all blocks), their ratio, and the median of the blocks' ratios.
import json
import sys
import time

import numpy as np
from mpi4py import MPI
from mpi4py import _profile
from pingpong import pingpong

comm = MPI.COMM_WORLD
rank = comm.rank
scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def median(values):
    return sorted(values)[len(values) // 2]


def compare(name, repetitions, per_block, op, results):
    """`repetitions` calls per variant in blocks of `per_block`, the two variants
    alternating block by block (fine interleaving: the load drifts over both alike)."""
    nblocks = max(4, int(repetitions * scale) // per_block)
    for _ in range(max(2, per_block)):  # warm-up
        op()
    off, on, ratios = [], [], []
    for block in range(nblocks):
        pair = {}
        for enabled in ((False, True) if block % 2 == 0 else (True, False)):
            _profile.set_enabled(enabled)
            comm.Barrier()
            start = time.perf_counter()
            for _ in range(per_block):
                op()
            elapsed = time.perf_counter() - start
            # the slowest rank decides how long a collective took
            pair[enabled] = comm.allreduce(elapsed, op=MPI.MAX)
        off.append(pair[False])
        on.append(pair[True])
        ratios.append(pair[True] / pair[False])
    _profile.set_enabled(True)
    calls = nblocks * per_block
    results[name] = {'off': sum(off) / calls * 1e6, 'on': sum(on) / calls * 1e6,
                     'ratio': sum(on) / sum(off), 'medianRatio': median(ratios),
                     'blocks': nblocks}


results = {}
# every call looks the method up on the class, so it sees the timers come and go
compare("barrier", 2000, 10, lambda: comm.Barrier(), results)

small = np.zeros(1, dtype=np.float64)
compare("bcast_8B", 2000, 10, lambda: comm.Bcast([small, MPI.DOUBLE], root=0), results)

reduced = np.zeros(1, dtype=np.float64)
compare("allreduce_8B", 2000, 10,
        lambda: comm.Allreduce([small, MPI.DOUBLE], [reduced, MPI.DOUBLE], op=MPI.SUM), results)

compare("allreduce_obj", 2000, 10, lambda: comm.allreduce(rank), results)

big = np.zeros(8 * 1024 * 1024, dtype=np.uint8)
compare("bcast_8MiB", 40, 1, lambda: comm.Bcast([big, MPI.BYTE], root=0), results)

compare("pingpong_roundtrip_8B", 2000, 10, pingpong(np.zeros(1, dtype=np.float64), MPI.DOUBLE), results)

if rank == 0:
    print(json.dumps(results))
