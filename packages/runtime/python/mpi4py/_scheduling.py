"""Ranks run under Linux's SCHED_BATCH policy, the one meant for non-interactive work.

A rank spends its life blocked on its agent's socket and is woken by the agent's reply.
Under the default policy a woken rank, having slept, preempts the agent on its core at
once, so an agent answering the N ranks of a collective is stopped after each reply while
that rank runs on to its next call; the other ranks wait for the rest of the replies.
A SCHED_BATCH task never preempts on wakeup: the agent writes every reply, then the ranks
run. Their share of the CPU is unchanged (the policy only gives up the wakeup preference).
Measured on one agent, 2 cores (`npm run bench:sched`, np 2, 4 and 8): barrier, bcast and
Allreduce of 8 bytes 0.79-0.93x the time; ping-pong unchanged. MPI4PY_SCHED_BATCH=0 in a
job's environment keeps the default policy (the benchmark's baseline).
"""

import os


def run_as_batch():
    """Puts this thread (and the threads and processes it starts later) under SCHED_BATCH;
    nothing happens where the platform or a sandbox does not allow it."""
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass
