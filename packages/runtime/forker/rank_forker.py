"""`mpiaas exec`'s rank forker: one warm interpreter that forks every rank of a local job.

`mpiaas exec -n N` used to start N interpreters, each paying Python's start-up and the shim's
imports, and the launcher a fork of its whole Node process for each. It now starts this one
process as soon as it has parsed its arguments; it imports the shim's modules once (those of
mpi4py/_warm_modules.py's SHIM_MODULES) and forks the ranks, each running the script as `python -u
SCRIPT ARGS...` would (mpi4py/_main_script.py, shared with the worker's rank zygote). Nothing
here is a sandbox: exec runs the user's own script, as the user, as mpirun does. Lean on
purpose (no json, no re): everything it imports, it imports before any rank can start.

Started as `PYTHON -u rank_forker.py [--numpy] N ENTRY... -- SCRIPT ARGS...` (N ranks;
PYTHON, the interpreter the ranks run in, is this process's: sys.executable, found on PATH if
need be; --numpy: the script mentions numpy, which is then imported here too, once instead of
in every rank) with the environment
rank 0 would have had, less MPIAAS_PROTOCOL (the shim's sitecustomize would close the
descriptors below). Each ENTRY is `R<TAB>NAME=VALUE` (rank R's value of NAME, where it differs
from this process's) or `R<TAB>NAME` (rank R has no NAME). Descriptors: 0 rank 0's stdin (or
/dev/null), 1 the reports, 2 the launcher's stderr, then for each rank in turn its stdout,
stderr and channel to the agent. Reports, one JSON line each: {"rank": R, "pid": PID} from
the rank itself once it leads a session of its own (its group can be signalled from then on),
{"rank": R, "exit": CODE or null, "signal": NUMBER or null} once it has exited. The launcher
starts this process in a session of its own too: signals to the launcher's group reach the
launcher alone, which stops the ranks by their groups.
"""

import fcntl
import os
import sys

from mpi4py import _main_script, _warm_modules
# The shim's own (first on the ranks' PYTHONPATH, and so on this process's): what a rank
# started fresh runs to close its stray descriptors.
from sitecustomize import close_stray_descriptors

OWN_MODULES = ("__main__", "mpi4py._main_script", "mpi4py._warm_modules")
FIRST_RANK_FD = 3
FDS_PER_RANK = 3  # stdout, stderr, channel


def rank_fds(rank):
    base = FIRST_RANK_FD + FDS_PER_RANK * rank
    return base, base + 1, base + 2


def parse(argv):
    """(size, {rank: {NAME: VALUE or None}}, script argv) from the command line."""
    size, rest = int(argv[0]), argv[1:]
    split = rest.index("--")
    differences = {}
    for entry in rest[:split]:
        rank, _, setting = entry.partition("\t")
        name, equals, value = setting.partition("=")
        differences.setdefault(int(rank), {})[name] = value if equals else None
    return size, differences, rest[split + 1:]


def become_rank(rank, size, argv, difference, forker_env):
    """In the forked child: rank `rank`'s descriptors and environment, then its script."""
    python = sys.executable
    try:
        os.setsid()
        report(rank, pid=os.getpid())
        # Out of the way of 0-3 first, above every rank's descriptors (rank 0's are 3-5).
        above = FIRST_RANK_FD + FDS_PER_RANK * size
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above) for fd in rank_fds(rank)]
        for target, fd in zip((1, 2, 3), high):
            os.dup2(fd, target)  # without close-on-exec: the script may exec another program
        if rank != 0:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        # A rank holds its stdio and its channel alone: not every other rank's descriptors,
        # the reports, nor what the launcher inherited without close-on-exec.
        close_stray_descriptors()
        env = dict(forker_env)
        for name, value in difference.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        _main_script.replace_environment(env)
    except BaseException as error:  # noqa: BLE001 - the rank cannot start: say why, as its stderr
        try:
            os.write(2, f"mpiaas: cannot start rank {rank}: {error}\n".encode())
        finally:
            os._exit(127)
    _main_script.run_as_rank(python, argv, env, forker_env, OWN_MODULES)


def report(rank, **fields):
    values = ", ".join(f'"{key}": {"null" if value is None else value}' for key, value in fields.items())
    try:
        os.write(1, f'{{"rank": {rank}, {values}}}\n'.encode())
    except OSError:
        pass  # the launcher is gone: its ranks end as their channels close


def main():
    numpy = sys.argv[1] == "--numpy"
    size, differences, argv = parse(sys.argv[2:] if numpy else sys.argv[1:])
    if numpy:
        # ~0.1 s of CPU a rank, once here instead. Imported without preload()'s checks: what
        # they drop is removed from sys.modules, and numpy 2 cannot be imported again in the
        # same process. The environment it reads is the same for every rank (start-up
        # variables), and its BLAS threads, if any, are fork-safe (pthread_atfork).
        __import__("numpy")
    _warm_modules.WARMING[0] = True  # COMM_WORLD left for each rank to bind (_comm._bind_world)
    for name in _warm_modules.SHIM_MODULES:
        __import__(name)
    _warm_modules.WARMING[0] = False
    forker_env = dict(os.environ)
    ranks = {}
    for rank in range(size):
        pid = os.fork()
        if pid == 0:
            become_rank(rank, size, argv, differences.get(rank, {}), forker_env)
        ranks[pid] = rank
        for fd in rank_fds(rank):
            os.close(fd)  # the rank's alone now: its end reaches the launcher as EOF
    os.close(0)
    while ranks:
        pid, status = os.wait()
        rank = ranks.pop(pid, None)
        if rank is None:
            continue
        if os.WIFSIGNALED(status):
            report(rank, exit=None, signal=os.WTERMSIG(status))
        else:
            report(rank, exit=os.WEXITSTATUS(status), signal=None)


if __name__ == "__main__":
    main()
