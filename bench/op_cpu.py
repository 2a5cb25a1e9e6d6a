# A 4 MiB ping-pong between ranks 0 and 1 (or a Bcast of 8 MiB from rank 0, or an Allreduce of
# 8 B), with the CPU each rank spends in it: one JSON line per rank, {"rank", "seconds" (the
# loop's wall time, every rank done), "cpu" (user + system seconds in the loop), "wakeups"
# (voluntary context switches in the loop: how often it slept and was woken)}. Rank 0 prints
# "start" and "end" as the loop starts and ends, for the bench to read the other processes'
# CPU then.
# Usage: op_cpu.py TIMES [pingpong|bcast|allreduce]     (bench/cpu-budget.mjs runs it)
import json
import resource
import sys
import time

import numpy as np
from mpi4py import MPI

from pingpong import pingpong

times = int(sys.argv[1])
if sys.argv[2:3] == ['bcast']:
    big = np.zeros(8 * 1024 * 1024, dtype=np.uint8)

    def once():
        MPI.COMM_WORLD.Bcast(big, root=0)
elif sys.argv[2:3] == ['allreduce']:
    small, reduced = np.ones(1, dtype=np.float64), np.zeros(1, dtype=np.float64)

    def once():
        MPI.COMM_WORLD.Allreduce(small, reduced, op=MPI.SUM)
else:
    once = pingpong(np.zeros(4 * 1024 * 1024, dtype=np.uint8), MPI.BYTE)
once()                               # the first message sets up what the others reuse
MPI.COMM_WORLD.Barrier()


def counters():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_nvcsw


rank = MPI.COMM_WORLD.rank
if rank == 0:
    print('start', flush=True)
(cpu_before, woken_before), started = counters(), time.perf_counter()
for _ in range(times):
    once()
MPI.COMM_WORLD.Barrier()             # a Bcast's root runs ahead: the loop is over once all are
seconds, (cpu_after, woken_after) = time.perf_counter() - started, counters()
if rank == 0:
    print('end', flush=True)
MPI.COMM_WORLD.Barrier()             # no rank's last line is written before "end"
print(json.dumps({'rank': rank, 'seconds': seconds, 'cpu': cpu_after - cpu_before,
                  'wakeups': woken_after - woken_before}), flush=True)
