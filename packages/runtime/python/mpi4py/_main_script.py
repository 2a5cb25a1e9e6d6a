"""How a rank forked from a warm interpreter runs its script: as `python -u SCRIPT ARGS...` would.

Two warm interpreters fork ranks: the worker's rank zygote (apps/worker/rank-zygote) and
`mpiaas exec`'s rank forker (packages/runtime/forker). It lives in the shim's package because
both already have the shim on their path, in every layout (a worker's sandbox included); a
script never imports it, and a forked rank forgets it (reset_interpreter_state).

A fresh interpreter and a forked warm one must be indistinguishable to the script: the same
`__main__` module (name, `__file__`, loader), `sys.argv`, `sys.orig_argv`, `sys.path[0]`,
environment, and the same end (exit status, traceback on stderr without a frame of ours,
`sys.exit("message")`, atexit handlers, non-daemon threads joined).

Only a script whose environment starts the interpreter the way the warm one was started can run
warm: variables Python, the locale or numerical libraries read at start-up (PYTHONHASHSEED,
LANG, OPENBLAS_NUM_THREADS...) must be the warm interpreter's. Any other rank gets a fresh
interpreter (`exec`), inside the same sandbox.
"""

import atexit
import builtins
import ctypes  # imported before the script: finish() clears what the script imported
import gc
import os
import _signal as signal  # signal's own module would import enum: not for the forker's start
import sys
import types
import zipimport  # both already loaded by the interpreter's start-up
from _frozen_importlib_external import MAGIC_NUMBER

# Read once when the interpreter (or numpy, or the locale) starts: a job setting one to a
# value other than the warm interpreter's needs a fresh interpreter. Names and prefixes, not
# a regular expression: `re` would cost `mpiaas exec`'s forker ~8 ms, which no rank needs.
STARTUP_NAMES = frozenset(("LANG", "LANGUAGE", "TZ", "GLIBC_TUNABLES"))
# (prefix, whether the prefix alone is such a name too)
STARTUP_PREFIXES = (
    ("PYTHON", True), ("GOTO", True), ("LC_", False), ("LD_", False), ("MALLOC_", False),
    ("OMP_", False), ("OPENBLAS_", False), ("MKL_", False), ("BLIS_", False), ("VECLIB_", False),
    ("NUMEXPR_", False), ("NPY_", False), ("NUMPY_", False),
)


def is_startup_variable(name):
    """Whether the interpreter, the locale or a numerical library reads `name` at start-up."""
    if name in STARTUP_NAMES:
        return True
    for prefix, alone in STARTUP_PREFIXES:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            return (alone or rest != "") and all(ch == "_" or ch.isalnum() for ch in rest)
    return False


def starts_warm(env, warm_env):
    """Whether a rank with environment `env` may run in this (forked) interpreter."""
    for name in set(env) | set(warm_env):
        if is_startup_variable(name) and env.get(name) != warm_env.get(name):
            return False
    return True


def exec_fresh(python, argv, env):
    """Replaces this process by a fresh `python -u SCRIPT ARGS...` (never returns)."""
    os.execve(python, [python, "-u", *argv], env)


def replace_environment(env):
    """The rank's environment instead of the warm interpreter's (putenv: the C library's copy
    moves out of the memory the warm interpreter's environment was given at its start)."""
    os.environ.clear()
    os.environ.update(env)


def reset_interpreter_state(forget_modules):
    """What a fresh interpreter would not have: the warm interpreter's own modules, caches of
    values read from the environment, the random state it was forked with."""
    for name in forget_modules:
        module = sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if module is not None and getattr(sys.modules.get(parent), child, None) is module:
            delattr(sys.modules[parent], child)  # as if the package had never imported it
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile.tempdir = None  # read again from TMPDIR
    site = sys.modules.get("site")
    if site is not None:
        # The user's site folder follows HOME; a fresh job directory has none to add.
        site.USER_BASE = None
        site.USER_SITE = None
    mtrand = sys.modules.get("numpy.random")
    if mtrand is not None:
        # numpy's global RandomState was seeded once, before the fork: every rank must draw its
        # own numbers, as each fresh interpreter does. (Python's `random` reseeds itself.)
        mtrand.seed()


def script_path(script, cwd):
    """`__file__` of the main script: CPython joins a relative path to the working directory."""
    return script if script.startswith("/") else cwd + "/" + script


def runs_as_source(script):
    """Whether the interpreter would run `script` as a file of Python source, as run_script
    does; a folder or a zip archive (its __main__.py) and compiled code (.pyc) run in a fresh
    interpreter instead. A script that cannot be read counts as source: run_script reports it
    as the interpreter would."""
    if os.path.isdir(script):
        return False
    try:
        zipimport.zipimporter(script)
        return False
    except (zipimport.ZipImportError, OSError):
        pass
    try:
        with open(script, "rb") as file:
            return file.read(len(MAGIC_NUMBER)) != MAGIC_NUMBER
    except OSError:
        return True


def run_script(argv, python):
    """Runs argv[0] as the main script with argv[1:] as its arguments; returns the exit
    status for SystemExit (what the interpreter would exit with)."""
    script = argv[0]
    sys.argv = list(argv)
    sys.orig_argv = [python, "-u", *argv]
    sys.executable = python
    path = script_path(script, os.getcwd())
    if not sys.flags.safe_path:  # -P / PYTHONSAFEPATH: the interpreter adds no script folder
        sys.path[0] = os.path.dirname(os.path.realpath(path))

    from importlib.machinery import SourceFileLoader

    main = types.ModuleType("__main__")
    main.__dict__.update(
        __file__=path,
        __cached__=None,
        __loader__=SourceFileLoader("__main__", path),
        __spec__=None,
        __package__=None,
        __builtins__=builtins,
        __annotations__={},
    )
    sys.modules["__main__"] = main
    try:
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
    except SyntaxError as error:
        # As the interpreter shows it: no traceback, the line and a caret.
        error.__traceback__ = None
        sys.excepthook(type(error), error, None)
        return 1
    except OSError as error:
        sys.stderr.write(f"{python}: can't open file {path!r}: [Errno {error.errno}] {error.strerror}\n")
        return 2
    try:
        exec(code, main.__dict__)
    except SystemExit as stop:
        return stop
    except BaseException as error:  # what the interpreter prints for an uncaught exception
        # Printed from the script's first frame on, as the interpreter would: none of ours.
        tb = error.__traceback__.tb_next if error.__traceback__ else None
        error.__traceback__ = tb
        sys.last_type, sys.last_value, sys.last_traceback = type(error), error, tb
        sys.excepthook(type(error), error, tb)
        if isinstance(error, KeyboardInterrupt):
            return KeyboardInterrupt
        return 1
    return 0


def exit_status(outcome):
    """The status the interpreter exits with for what run_script returned; prints a
    SystemExit's message as the interpreter does."""
    if not isinstance(outcome, SystemExit):
        return outcome
    code = outcome.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -(1 << 63) <= code < 1 << 63 else -1
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:  # noqa: BLE001 - as the interpreter: nothing more to say
        pass
    return 1


def run_as_rank(python, argv, env, warm_env, own_modules):
    """In a child forked from a warm interpreter, its rank's descriptors and environment in
    place: runs the script (argv) here, or in a fresh interpreter where it cannot run warm (an
    option first, as `-m mpi4py.futures`; a start-up variable of its own; a script that is not
    source). `own_modules` are the warm interpreter's, forgotten first. Never returns."""
    if argv[0].startswith("-") or not starts_warm(env, warm_env) or not runs_as_source(argv[0]):
        try:
            exec_fresh(python, argv, env)
        except OSError as error:
            os.write(2, f"mpiaas: cannot start {python}: {error}\n".encode())
            os._exit(127)
    reset_interpreter_state(own_modules)
    modules = dict(sys.modules)
    finish(run_script(argv, python), modules)


def finish(outcome, modules_before):
    """Ends the rank as the interpreter's finalization would, for all a script can tell:
    non-daemon threads joined, atexit handlers run, the objects of the script and of the
    modules it imported finalized (a file it left open is flushed), the standard streams
    flushed (status 120 if that fails). The modules the warm interpreter imported are not torn down:
    that was most of an exiting warm rank's time. Never returns."""
    status = exit_status(outcome)
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    atexit._run_exitfuncs()
    failed = _flush_std_streams()
    sys.last_type = sys.last_value = sys.last_traceback = None
    # As the interpreter clears modules: the script's, last imported first (__main__ last),
    # each dictionary's entries set to None, then what is left in cycles collected.
    imported = [module for name, module in sys.modules.items() if modules_before.get(name) is not module]
    for module in reversed(imported):
        _clear_module_dict(vars(module))
    del imported
    gc.collect()
    failed = _flush_std_streams() or failed
    if status is KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)  # a namespace's first process ignores it:
        status = 128 + signal.SIGINT  # then the shell's code for it
    elif failed and status == 0:
        status = 120
    # What C code printed through its own stdio buffers, as exit() would flush it.
    ctypes.CDLL(None).fflush(None)
    os._exit(status & 0xFF)


def _clear_module_dict(namespace):
    """CPython's _PyModule_ClearDict: names with one leading underscore first, then all but
    __builtins__ (so that finalizers run while most globals are still there)."""
    for key in list(namespace):
        if key.startswith("_") and not key.startswith("__"):
            namespace[key] = None
    for key in list(namespace):
        if key != "__builtins__":
            namespace[key] = None


def _flush_std_streams():
    failed = False
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception as error:  # noqa: BLE001 - reported as the interpreter does
            failed = True
            try:
                sys.stderr.write(f"Exception ignored in: {stream!r}\n{type(error).__name__}: {error}\n")
            except Exception:  # noqa: BLE001
                pass
    return failed
