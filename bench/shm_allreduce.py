# What an Allreduce of 8 B costs when ranks on one host meet in shared memory instead of through
# their agent: a bare prototype, no MPI layer, the way Open MPI's shared-memory collectives work.
# NP processes (forked from this one) share an anonymous mapping: one sequence word per rank and
# two banks of one float64 per rank. For call `seq`, each rank writes its value into bank seq % 2,
# then its sequence word; it waits (sched_yield between looks) until every word reaches seq and
# sums the bank. Two banks are enough: a rank writes bank seq % 2 again only for seq + 2, after
# every rank has published seq + 1, that is after every rank has read seq. Stores are in program
# order on x86-64 (TSO), which the prototype relies on. Every result is checked.
# One JSON line per rank: {"rank", "seconds" (wall per call), "cpu" (per call), "wakeups"
# (voluntary context switches per call)}.
# Usage: shm_allreduce.py NP TIMES          (bench/cpu-budget.mjs runs it)
import json
import mmap
import os
import resource
import struct
import sys
import time

np_, times = int(sys.argv[1]), int(sys.argv[2])
SEQ = struct.Struct('<q')
VALUE = struct.Struct('<d')
shared = mmap.mmap(-1, 8 * np_ * 3)


def bank_at(seq, rank):
    return 8 * np_ * (1 + seq % 2) + 8 * rank


def run(rank):
    view = memoryview(shared)
    write_seq, read_seq = SEQ.pack_into, SEQ.unpack_from
    write_value, read_value = VALUE.pack_into, VALUE.unpack_from
    expected_base = np_ * (np_ - 1) / 2
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for seq in range(1, times + 1):
        write_value(view, bank_at(seq, rank), float(rank + seq))
        write_seq(view, 8 * rank, seq)
        total = 0.0
        for other in range(np_):
            while read_seq(view, 8 * other)[0] < seq:
                os.sched_yield()
            total += read_value(view, bank_at(seq, other))[0]
        if total != expected_base + np_ * seq:
            raise SystemExit('rank %d: call %d summed %r' % (rank, seq, total))
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    line = json.dumps({'rank': rank, 'seconds': seconds / times, 'cpu': cpu / times,
                       'wakeups': (after.ru_nvcsw - usage.ru_nvcsw) / times})
    os.write(1, (line + '\n').encode())   # one write: the ranks' lines never interleave


children = []
for rank in range(1, np_):
    pid = os.fork()
    if pid == 0:
        try:
            run(rank)
        finally:
            os._exit(0)
    children.append(pid)
run(0)
failed = [pid for pid in children if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0]
sys.exit(1 if failed else 0)
