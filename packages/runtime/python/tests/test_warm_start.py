"""Starting ranks from a warm interpreter: what may be preloaded, which variables force a fresh
interpreter, and `mpiaas exec`'s rank forker on its own (its descriptors, reports, environment)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.dirname(HERE)
FORKER = os.path.join(SHIM, "..", "forker", "rank_forker.py")

from mpi4py import _main_script, _warm_modules  # noqa: E402  (the shim: tests run beside it)

# The pattern is_startup_variable replaced (kept here as the specification it must match).
STARTUP_PATTERN = re.compile(
    r"^(PYTHON\w*|LANG|LANGUAGE|LC_\w+|TZ|LD_\w+|GLIBC_TUNABLES|MALLOC_\w+|"
    r"OMP_\w+|OPENBLAS_\w+|GOTO\w*|MKL_\w+|BLIS_\w+|VECLIB_\w+|NUMEXPR_\w+|NPY_\w+|NUMPY_\w+)$"
)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPIAAS_")}
    env["PYTHONPATH"] = SHIM
    env.update(extra)
    return env


class StartupVariableTest(unittest.TestCase):
    def test_matches_the_names_the_interpreter_and_libraries_read_at_start_up(self):
        names = [
            "PYTHONPATH", "PYTHON", "PYTHONHASHSEED", "LANG", "LANGUAGE", "LANGX", "LC_ALL", "LC_", "TZ",
            "TZX", "LD_PRELOAD", "LD_", "GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "OMP_NUM_THREADS", "OMP_",
            "OPENBLAS_NUM_THREADS", "GOTO", "GOTOBLAS_MAIN_FREE", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_MAX_THREADS", "NPY_DISABLE_CPU_FEATURES", "NUMPY_EXPERIMENTAL",
            "HOME", "PATH", "MPIAAS_RANK", "OMPI_COMM_WORLD_RANK", "XLANG", "PYTHON-X", "LC_A-B", "lang",
        ]
        for name in names:
            self.assertEqual(_main_script.is_startup_variable(name), bool(STARTUP_PATTERN.match(name)), name)


class RunsAsSourceTest(unittest.TestCase):
    def test_only_a_file_of_source_runs_in_the_warm_interpreter(self):
        import py_compile
        import zipfile

        with tempfile.TemporaryDirectory() as folder:
            source = os.path.join(folder, "script.py")
            with open(source, "w") as out:
                out.write("print('hi')\n")
            archive = os.path.join(folder, "app.pyz")
            with zipfile.ZipFile(archive, "w") as zipped:
                zipped.writestr("__main__.py", "print('hi')\n")
            compiled = py_compile.compile(source, cfile=os.path.join(folder, "script.pyc"))
            self.assertTrue(_main_script.runs_as_source(source))
            self.assertTrue(_main_script.runs_as_source(os.path.join(folder, "missing.py")))
            self.assertFalse(_main_script.runs_as_source(folder))
            self.assertFalse(_main_script.runs_as_source(archive))
            self.assertFalse(_main_script.runs_as_source(compiled))


class ShimModulesTest(unittest.TestCase):
    def test_every_module_the_forker_imports_passes_the_preload_checks(self):
        # In a fresh interpreter: here they are imported already, and preload() keeps those unseen.
        code = (
            "import json\n"
            "from mpi4py import _main_script, _preload, _warm_modules\n"
            "kept = _preload.preload(_main_script.is_startup_variable, _warm_modules.SHIM_MODULES)\n"
            "print(json.dumps(kept))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], env=clean_env(), capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(out.stdout), list(_warm_modules.SHIM_MODULES))

    def test_the_forker_imports_only_modules_a_rank_imports_anyway(self):
        code = "import sys\nimport mpi4py.MPI\nprint(' '.join(sorted(sys.modules)))\n"
        out = subprocess.run([sys.executable, "-c", code], env=clean_env(), capture_output=True, text=True, check=True)
        # but _stacks, which a rank imports to report where it waits: small, and kept warm
        self.assertLessEqual(set(_warm_modules.SHIM_MODULES) - {"mpi4py._stacks"}, set(out.stdout.split()))

    def test_a_warm_import_leaves_comm_world_for_each_forked_rank_to_bind(self):
        # preloaded without a rank (as the forker and the zygote do), then forked: each child
        # binds its own rank from its environment when it imports mpi4py.MPI
        code = (
            "import os, sys\n"
            "from mpi4py import _main_script, _preload, _warm_modules\n"
            "_preload.preload(_main_script.is_startup_variable, _warm_modules.SHIM_MODULES)\n"
            "from mpi4py import _comm\n"
            "print('warm', _comm.world_rank, 'mpi4py._world' in sys.modules, flush=True)\n"
            "for rank in (2, 5):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        os.environ.update(MPIAAS_RANK=str(rank), MPIAAS_SIZE='6')\n"
            "        from mpi4py import MPI\n"
            "        w = MPI.COMM_WORLD\n"
            "        print('rank', w.Get_rank(), w.Get_size(), MPI.COMM_SELF.Get_rank(), MPI.COMM_SELF.Get_size(), flush=True)\n"
            "        os._exit(0)\n"
            "    os.waitpid(pid, 0)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], env=clean_env(), capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.splitlines(), ["warm None False", "rank 2 6 0 1", "rank 5 6 0 1"])

    def test_a_plain_import_binds_comm_world_at_once(self):
        code = "from mpi4py import _comm\nprint(_comm.world_rank, _comm.world_size, _comm.COMM_WORLD.Get_rank())\n"
        out = subprocess.run([sys.executable, "-c", code], env=clean_env(MPIAAS_RANK="1", MPIAAS_SIZE="3"),
                             capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.split(), ["1", "3", "1"])


RANK_SCRIPT = """\
import os, signal, sys
rank = int(os.environ["MPIAAS_RANK"])
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
os.write(3, b"channel of %d" % rank)
print("rank", rank, "argv", sys.argv, "fds", fds[:4], "gone" not in os.environ, os.getsid(0) == os.getpid())
sys.stdout.flush()
sys.stderr.write("err of %d\\n" % rank)
if rank == 2:
    os.kill(os.getpid(), signal.SIGTERM)
sys.exit(rank)
"""


# Puts descriptors where the forker expects them (SOURCE:TARGET,...), then runs the command.
PLACE_FDS = """\
import os, sys
pairs = [tuple(int(n) for n in pair.split(":")) for pair in sys.argv[1].split(",")]
for source, target in pairs:
    os.dup2(source, target + 100)
for source, _ in pairs:
    os.close(source)
for _, target in pairs:
    os.dup2(target + 100, target)
    os.close(target + 100)
os.execv(sys.argv[2], sys.argv[2:])
"""


def run_forker(script_text, size, entries, extra_env=None):
    """Runs the forker on `script_text` with `size` ranks; (its reports, each rank's
    [stdout, stderr, channel] read back)."""
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "script.py")
        with open(script, "w") as out:
            out.write(script_text)
        pipes = [os.pipe() for _ in range(size * 3)]
        read_ends = [r for r, _ in pipes]
        # rank r's stdout, stderr and channel on the forker's fds 3 + 3r, 4 + 3r, 5 + 3r
        mapping = ",".join(f"{w}:{3 + i}" for i, (_, w) in enumerate(pipes))
        command = [sys.executable, "-u", FORKER, str(size), *entries, "--", script, "a b"]
        forker = subprocess.Popen(
            [sys.executable, "-c", PLACE_FDS, mapping, *command],
            env=clean_env(**(extra_env or {})), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=folder,
            pass_fds=[w for _, w in pipes],
        )
        for _, w in pipes:
            os.close(w)
        with forker.stdout:
            reports = [json.loads(line) for line in forker.stdout.read().decode().splitlines()]
        if forker.wait() != 0:
            raise AssertionError(f"the forker exited {forker.returncode}")
        streams = [os.read(fd, 65536).decode() for fd in read_ends]
        for fd in read_ends:
            os.close(fd)
        return reports, script, [streams[3 * r: 3 * r + 3] for r in range(size)]


class RankForkerTest(unittest.TestCase):
    def test_forks_each_rank_onto_its_own_descriptors_and_reports_pids_and_exits(self):
        size = 3
        entries = [f"{r}\tMPIAAS_RANK={r}" for r in range(size)] + ["1\tgone"]
        reports, script, streams = run_forker(RANK_SCRIPT, size, entries, {"gone": "1"})
        pids = {r["rank"]: r["pid"] for r in reports if "pid" in r}
        self.assertEqual(sorted(pids), [0, 1, 2])
        exits = {r["rank"]: (r["exit"], r["signal"]) for r in reports if "exit" in r}
        self.assertEqual(exits, {0: (0, None), 1: (1, None), 2: (None, 15)})
        for rank in range(size):
            stdout, stderr, channel = streams[rank]
            self.assertEqual(stdout, f"rank {rank} argv [{script!r}, 'a b'] fds [0, 1, 2, 3] {rank == 1} True\n")
            self.assertEqual(stderr, f"err of {rank}\n")
            self.assertEqual(channel, f"channel of {rank}")

    def test_each_forked_rank_binds_its_own_comm_world(self):
        # the forker imported _comm warm (unbound); each rank binds from its environment, as
        # `from mpi4py import MPI` does (called directly: MPI would talk to an agent here)
        script = (
            "from mpi4py import _comm\n"
            "unbound = _comm.world_rank is None\n"
            "_comm._bind_world()\n"
            "print(unbound, _comm.COMM_WORLD.Get_rank(), _comm.COMM_WORLD.Get_size(), _comm.COMM_SELF.Get_size())\n"
        )
        size = 3
        entries = [f"{r}\tMPIAAS_RANK={r}" for r in range(size)] + [f"{r}\tMPIAAS_SIZE={size}" for r in range(size)]
        _, _, streams = run_forker(script, size, entries)
        self.assertEqual([stdout for stdout, _, _ in streams], [f"True {r} 3 1\n" for r in range(size)])

if __name__ == "__main__":
    unittest.main()
