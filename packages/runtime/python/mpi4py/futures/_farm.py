"""The task farm behind mpi4py.futures: one root hands tasks to worker ranks of a comm.

Root side: a dispatcher thread owns every MPI call of the farm (the script's threads only
queue tasks and wait on futures), sends a task to an idle worker, and polls for results
(an Iprobe; the agent answers a negative probe after one Redis round trip, which paces the
loop).  Worker side: `serve` receives tasks until told to stop.  With no workers at all
(one rank) the dispatcher runs the tasks itself, so scripts still work at np 1.

Messages (lower-case, pickled): TASK (tid, fn, args, kwargs) root -> worker; RESULT (tid,
ok, value-or-exception) worker -> root; STOP root -> worker.
"""

import collections
import sys
import threading
import time

from .. import MPI

TASK, RESULT, STOP = 0x7f01, 0x7f02, 0x7f03


class Farm:
    """Root side: queue tasks, run the dispatcher thread."""

    def __init__(self, comm, workers, initializer=None, initargs=()):
        self.comm = comm
        self.workers = list(workers)
        self.queue = collections.deque()
        self.cv = threading.Condition()
        self.closing = False
        self.initializer = (initializer, tuple(initargs)) if initializer else None
        self.thread = threading.Thread(target=self._run, name='mpi4py.futures', daemon=True)
        self.thread.start()

    def submit(self, future, fn, args, kwargs):
        with self.cv:
            if self.closing:
                raise RuntimeError('cannot schedule new futures after shutdown')
            self.queue.append((future, fn, args, kwargs))
            self.cv.notify()

    def close(self, wait=True, cancel_futures=False):
        with self.cv:
            self.closing = True
            if cancel_futures:
                while self.queue:
                    self.queue.popleft()[0].cancel()
            self.cv.notify()
        if wait:
            self.thread.join()

    # -- dispatcher thread ------------------------------------------------------------
    def _run(self):
        if self.initializer is not None:
            if self.workers:
                for w in self.workers:
                    self.comm.send(('init',) + self.initializer, w, TASK)
            else:
                self.initializer[0](*self.initializer[1])
        idle, busy, tid, pause = list(self.workers), {}, 0, 0.0
        while True:
            with self.cv:
                while not self.queue and not busy and not self.closing:
                    self.cv.wait()
                if self.closing and not self.queue and not busy:
                    return
                # run locally, one task at a time: the rest stay queued, so shutdown's
                # cancel_futures (Pool.terminate) still cancels them
                room = len(idle) if self.workers else 1
                batch = [self.queue.popleft() for _ in range(min(room, len(self.queue)))]
            for future, fn, args, kwargs in batch:
                if not future.set_running_or_notify_cancel():
                    continue
                if not self.workers:
                    _run_local(future, fn, args, kwargs)
                    continue
                tid += 1
                try:
                    self.comm.send((tid, fn, args, kwargs), idle[-1], TASK)
                except BaseException as exc:        # e.g. fn cannot be pickled
                    future.set_exception(exc)
                    continue
                busy[tid] = (future, idle.pop())
            if busy:
                pause = 0.0 if self._collect(busy, idle) else min(pause + 0.001, 0.02)
                time.sleep(pause)

    def _collect(self, busy, idle):
        """Take one result if one is there; True if one was."""
        status = MPI.Status()
        if not self.comm.iprobe(MPI.ANY_SOURCE, RESULT, status):
            return False
        tid, ok, value = self.comm.recv(None, status.source, RESULT)
        future, worker = busy.pop(tid)
        idle.append(worker)
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
        return True

    def stop_workers(self):
        for w in self.workers:
            self.comm.send(None, w, STOP)


def _run_local(future, fn, args, kwargs):
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)


def serve(comm, root):
    """Worker side: run tasks from root until STOP."""
    status = MPI.Status()
    while True:
        msg = comm.recv(None, root, MPI.ANY_TAG, status)
        if status.tag == STOP:
            return
        if msg[0] == 'init':
            msg[1](*msg[2])
            continue
        tid, fn, args, kwargs = msg
        try:
            reply = (tid, True, fn(*args, **kwargs))
        except BaseException as exc:
            reply = (tid, False, exc)
        try:
            comm.send(reply, root, RESULT)
        except BaseException as exc:            # the result cannot be pickled
            comm.send((tid, False, RuntimeError('%s: %s' % (type(exc).__name__, exc))),
                      root, RESULT)
        sys.stdout.flush()
