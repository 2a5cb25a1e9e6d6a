"""What a warm interpreter imports for the ranks it forks (the worker's rank zygote, `mpiaas
exec`'s rank forker: see _main_script), and how it makes sure none of it shows.

A rank forked from it finds these modules imported. That must be indistinguishable
from importing them itself, so a module is kept only if importing it here did nothing that
depends on the process or the rank: it read no environment variable a rank may have
differently (its rank, its size, the job's own variables; only those the interpreter reads at
start-up are the same for every warm rank, see _main_script.is_startup_variable), registered no
atexit handler, started no thread, installed no signal handler and left the standard streams
as they were. A module that did is dropped with everything its import brought in (the script
imports it afresh); one that changed a module kept before it makes the warm interpreter refuse
to start.
"""

import atexit
import importlib
import os
import signal
import sys
from collections.abc import MutableMapping

from ._warm_modules import CANDIDATES, WARMING

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


class PreloadError(Exception):
    pass


class _WatchedEnviron(MutableMapping):
    """os.environ while a module is imported: which names it read."""

    def __init__(self, real, read):
        self.real = real
        self.read = read

    def __getitem__(self, key):
        self.read.append(key)
        return self.real[key]

    def __contains__(self, key):
        self.read.append(key)
        return key in self.real

    def get(self, key, default=None):
        self.read.append(key)
        return self.real.get(key, default)

    def __setitem__(self, key, value):
        self.read.append(key)
        self.real[key] = value

    def __delitem__(self, key):
        self.read.append(key)
        del self.real[key]

    def __iter__(self):
        self.read.append("*")
        return iter(self.real)

    def __len__(self):
        return len(self.real)

    def copy(self):
        self.read.append("*")
        return self.real.copy()


def _state():
    """What an import must leave as it was."""
    threads = len(os.listdir("/proc/self/task"))
    return (threads, sys.stdin, sys.stdout, sys.stderr, getattr(sys.stdout, "line_buffering", None),
            getattr(sys.stdout, "write_through", None), tuple(signal.getsignal(s) for s in SIGNALS))


def _namespace(module):
    return {key: id(value) for key, value in vars(module).items()}


def preload(is_startup_variable, candidates=CANDIDATES, log=lambda message: None):
    """Imports the candidates that pass (see the module's doc); returns their names."""
    WARMING[0] = True
    try:
        return _preload(is_startup_variable, candidates, log)
    finally:
        WARMING[0] = False


def _preload(is_startup_variable, candidates, log):
    kept = []
    for name in candidates:
        if name in sys.modules:
            kept.append(name)
            continue
        before = set(sys.modules)
        snapshots = {kept_name: _namespace(sys.modules[kept_name]) for kept_name in before if sys.modules.get(kept_name) is not None}
        state = _state()
        read, registered = [], []
        real_environ, real_register = os.environ, atexit.register

        def register(function, *args, **kwargs):
            registered.append(function)
            return real_register(function, *args, **kwargs)

        os.environ, atexit.register = _WatchedEnviron(real_environ, read), register
        error = None
        try:
            importlib.import_module(name)
        except Exception as failure:  # noqa: BLE001 - not importable here: simply not preloaded
            error = failure
        finally:
            os.environ, atexit.register = real_environ, real_register
        changed = [other for other, snapshot in snapshots.items() if _namespace(sys.modules[other]) != snapshot and other not in ("sys", "__main__")]
        changed = [other for other in changed if not _only_added_submodule(sys.modules[other], snapshots[other], before)]
        why = (
            f"cannot be imported ({error})" if error is not None
            else f"reads {sorted(set(n for n in read if not is_startup_variable(n)))}" if any(not is_startup_variable(n) for n in read)
            else "registers an atexit handler" if registered
            else "changes threads, standard streams or signal handlers" if _state() != state
            else None
        )
        if why is None and not changed:
            kept.append(name)
            continue
        for function in registered:
            atexit.unregister(function)
        for added in set(sys.modules) - before:
            module = sys.modules.pop(added)
            parent, _, child = added.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is module:
                delattr(sys.modules[parent], child)
        if changed:
            raise PreloadError(f"importing {name} changed {', '.join(sorted(changed))}, imported before it")
        log(f"not preloaded: {name} {why}")
    return kept


def _only_added_submodule(module, snapshot, before):
    """A package whose only change is the new submodule attribute an import sets on it."""
    now = _namespace(module)
    for key, value in now.items():
        if snapshot.get(key) == value:
            continue
        full = f"{module.__name__}.{key}"
        if key in snapshot or full in before or sys.modules.get(full) is not getattr(module, key):
            return False
    return all(key in now for key in snapshot)
