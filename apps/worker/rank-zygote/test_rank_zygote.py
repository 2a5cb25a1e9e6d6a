"""The rank zygote against a fresh interpreter: a script must not tell which one ran it.

The zygote runs here in its `limits-only` sandbox (no namespace: these tests need no root;
as root, ranks run as nobody). The bwrap sandbox is tested through the service
(test/service/sandbox.test.ts, both with and without the warm pool).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.realpath(os.path.join(HERE, "..", "..", "..", "packages", "runtime", "python"))
sys.path.insert(0, SHIM)

from mpi4py import _main_script  # noqa: E402  (the shim's: on the path just above)
ROOT = os.getuid() == 0
NOBODY = 65534
# As root, ranks run as nobody: with an interpreter nobody can run (not one under /root).
PYTHON = "/usr/bin/python3" if ROOT and os.path.exists("/usr/bin/python3") else sys.executable


def base_env(jobs):
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": jobs,
        "TMPDIR": jobs,
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONPATH": SHIM,
        "PYTHONUNBUFFERED": "1",
    }


def connect(path, *lines):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    return sock


def read_all(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks).decode()
        chunks.append(chunk)


class ZygoteTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.jobs = tempfile.mkdtemp(prefix="mpiaas-jobs-")
        os.chmod(cls.jobs, 0o755)
        cls.socket = os.path.join(cls.jobs, "zygote.sock")
        cls.env = base_env(cls.jobs)
        cls.zygote = subprocess.Popen(
            [PYTHON, "-u", os.path.join(HERE, "rank_zygote.py"), "--socket", cls.socket, "--sandbox", "limits-only",
             "--jobs-root", cls.jobs, "--rlimit-as", str(4 << 30), "--rlimit-fsize", str(1 << 30), "--rlimit-nofile", "1024"],
            env={**cls.env, "MPIAAS_ZYGOTE_ENVIRON_SPACE": " " * 4096},
            stdout=subprocess.PIPE,
            text=True,
        )
        hello = json.loads(cls.zygote.stdout.readline())
        assert hello["ready"], hello
        cls.preloaded = hello["preloaded"]

    @classmethod
    def tearDownClass(cls):
        cls.zygote.terminate()
        cls.zygote.wait(10)
        shutil.rmtree(cls.jobs, ignore_errors=True)

    def job_dir(self, script):
        job = tempfile.mkdtemp(dir=self.jobs)
        os.chmod(job, 0o777)
        with open(os.path.join(job, "script.py"), "w") as f:
            f.write(script)
        return job

    def warm(self, script, args=(), env=None, kill_after=None, job=None, read_after=0, argv=None):
        """Runs the script through the zygote: (exit code or -signal, stdout, stderr)."""
        job = job or self.job_dir(script)
        spawn = str(uuid.uuid4())
        request = {"argv": argv or ["script.py", *args], "env": {**self.env, **(env or {})}, "cwd": job, "jobDir": job, "cgroups": []}
        if ROOT:
            request.update(uid=NOBODY, gid=NOBODY)
        control = connect(self.socket, {"spawn": spawn, "role": "control", "fds": ["channel", "stdout", "stderr"]}, request)
        streams = {role: connect(self.socket, {"spawn": spawn, "role": role}) for role in ("channel", "stdout", "stderr")}
        lines = control.makefile()
        started = json.loads(lines.readline())
        self.assertIn("pid", started)
        if kill_after is not None:
            time.sleep(kill_after)
            control.sendall(b'{"kill": "SIGTERM"}\n')
        time.sleep(read_after)
        out, err = read_all(streams["stdout"]), read_all(streams["stderr"])
        ended = json.loads(lines.readline())
        for sock in (control, *streams.values()):
            sock.close()
        code = ended["exit"] if ended["signal"] is None else -signal.Signals[ended["signal"]]
        return code, out, err

    def fresh(self, script, args=(), env=None, job=None):
        """The same script as `python -u script.py` would run it."""
        job = job or self.job_dir(script)
        result = subprocess.run(
            [PYTHON, "-u", "script.py", *args], cwd=job, env={**self.env, **(env or {})}, capture_output=True, text=True,
            **({"user": NOBODY, "group": NOBODY, "extra_groups": []} if ROOT else {}),
        )
        return result.returncode, result.stdout, result.stderr

    def same(self, script, args=()):
        job = self.job_dir(script)
        warm, fresh = self.warm(script, args, job=job), self.fresh(script, args, job=job)
        self.assertEqual(warm, fresh)
        return warm

    def test_preloads_numpy_and_the_shim_but_no_module_holding_a_rank(self):
        self.assertIn("numpy", self.preloaded)
        self.assertIn("mpi4py._datatypes", self.preloaded)
        self.assertNotIn("mpi4py.MPI", self.preloaded)

    def test_a_script_sees_what_a_fresh_interpreter_shows_it(self):
        script = "\n".join([
            "import os, sys",
            "print(__name__, __file__ == os.path.join(os.getcwd(), 'script.py'), __package__, __spec__, __cached__, type(__loader__).__name__)",
            "print(sorted(k for k in globals() if k.startswith('__')))",
            "print(sys.argv, sys.orig_argv[1:], sys.path[0] == os.getcwd())",
            "print(sys.flags.dont_write_bytecode, sys.flags.no_user_site, sys.stdout.encoding, sys.stdout.errors, sys.stdout.write_through)",
            "print(sorted(k for k in os.environ))",
            "print(sys.modules['__main__'] is sys.modules[__name__], [m for m in sys.modules if 'zygote' in m])",
        ])
        code, out, _ = self.same(script, ["a", "b c"])
        self.assertEqual(code, 0)
        self.assertIn("['script.py', 'a', 'b c'] ['-u', 'script.py', 'a', 'b c'] True", out)

    def test_ends_as_a_fresh_interpreter_does(self):
        self.assertEqual(self.same("import sys\nsys.exit(3)")[0], 3)
        self.assertEqual(self.same("import sys\nsys.exit('bad input')"), (1, "", "bad input\n"))
        code, _, err = self.same("def f():\n    raise ValueError('boom')\nf()\n")
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("Traceback (most recent call last):\n  File \""), err)
        self.assertNotIn("_main_script", err)
        code, _, err = self.same("def (:\n")
        self.assertEqual(code, 1)
        self.assertIn("SyntaxError", err)
        self.same("try:\n    1 / 0\nexcept ZeroDivisionError:\n    raise KeyError('x')\n")

    def test_runs_atexit_handlers_and_waits_for_threads(self):
        script = "\n".join([
            "import atexit, threading, time",
            "atexit.register(print, 'at exit')",
            "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done'))).start()",
            "print('main done')",
        ])
        self.assertEqual(self.same(script), (0, "main done\nthread done\nat exit\n", ""))

    def test_finalizes_what_the_script_leaves(self):
        script = "\n".join([
            "class Noisy:",
            "    def __del__(self):",
            "        print('finalized')",
            "noisy = Noisy()",
            "out = open('left-open.txt', 'w')",
            "out.write('kept')",
        ])
        job = self.job_dir(script)
        self.assertEqual(self.warm(script, job=job), (0, "finalized\n", ""))
        with open(os.path.join(job, "left-open.txt")) as f:
            self.assertEqual(f.read(), "kept")
        self.assertEqual(self.fresh(script, job=job), (0, "finalized\n", ""))
        self.same("import ctypes\nctypes.CDLL(None).printf(b'from C\\n')\nprint('from Python')")

    def test_exits_with_what_sys_exit_was_given(self):
        self.assertEqual(self.same("import sys\nsys.exit(None)")[0], 0)
        self.assertEqual(self.same("import sys\nsys.exit(256 + 7)")[0], 7)
        self.assertEqual(self.same("raise SystemExit(['a', 1])"), (1, "", "['a', 1]\n"))
        self.assertEqual(self.same("raise KeyboardInterrupt")[0], -signal.SIGINT)

    def test_prints_all_it_prints_though_nobody_reads_for_a_while(self):
        # Blocking stdio: the zygote's non-blocking connections must not drop output.
        code, out, _ = self.warm("for i in range(200000):\n    print(f'line {i:09d}')", read_after=0.5)
        self.assertEqual((code, len(out), out.count("\n")), (0, 200000 * 15, 200000))

    def test_pickles_classes_of_the_script(self):
        script = "import pickle\nclass Point:\n    x = 1\nprint(type(pickle.loads(pickle.dumps(Point()))).__qualname__)\n"
        self.assertEqual(self.same(script), (0, "Point\n", ""))

    def test_each_rank_draws_its_own_random_numbers(self):
        script = "import random, numpy\nprint(random.random(), numpy.random.rand())"
        self.assertNotEqual(self.warm(script)[1], self.warm(script)[1])

    def test_starts_warm_only_with_the_zygotes_start_up_variables(self):
        script = "import sys\nprint('numpy' in sys.modules)"
        self.assertEqual(self.warm(script)[1], "True\n")
        self.assertEqual(self.warm(script, env={"LANG": "C"})[1], "False\n")
        self.assertEqual(self.warm(script, env={"PYTHONHASHSEED": "0"})[1], "False\n")
        self.assertEqual(self.warm(script, env={"GREETING": "hi"})[1], "True\n")

    def test_runs_a_module_as_the_interpreter_does(self):
        code, out, err = self.warm("", argv=["-m", "json.tool", "--compact", "data.json"],
                                   job=self.job_dir_with("data.json", '{"a": [1, 2]}'))
        self.assertEqual((code, out, err), (0, '{"a":[1,2]}\n', ""))

    def job_dir_with(self, name, text):
        job = self.job_dir("")
        with open(os.path.join(job, name), "w") as f:
            f.write(text)
        return job

    def test_passes_its_fds_to_a_program_it_starts(self):
        # A rank started cold (exec) keeps them too: 0-3 are inheritable, as a child process's.
        code, out, err = self.warm("", argv=["-c", "import os; print([os.get_inheritable(fd) for fd in range(4)])"])
        self.assertEqual((code, out, err), (0, "[True, True, True, True]\n", ""))

    def test_shows_its_own_environment_and_command_in_proc_and_holds_only_its_fds(self):
        script = "\n".join([
            "import os",
            "print('MPIAAS_JOB_ID=job.1' in open('/proc/self/environ').read().split('\\0'))",
            "print(open('/proc/self/cmdline').read().split('\\0')[1:4])",
            "print(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))",
        ])
        code, out, err = self.warm(script, ["x"], env={"MPIAAS_JOB_ID": "job.1"})
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, "True\n['-u', 'script.py', 'x']\n[0, 1, 2, 3, 4]\n")

    def test_takes_its_limits_and_a_session_of_its_own(self):
        script = "import os, resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE), os.getsid(0) == os.getpid())"
        self.assertEqual(self.warm(script)[1], "(1024, 1024) True\n")

    def test_a_kill_request_ends_the_rank(self):
        code, out, _ = self.warm("import time\nprint('up', flush=True)\ntime.sleep(30)", kill_after=0.5)
        self.assertEqual((code, out), (-signal.SIGTERM, "up\n"))

    def test_refuses_a_job_directory_outside_its_root(self):
        job = tempfile.mkdtemp()
        try:
            with open(os.path.join(job, "script.py"), "w") as f:
                f.write("print('ran')")
            code, out, err = self.warm("", job=job)
            self.assertEqual((code, out), (127, ""))
            self.assertIn("is not under", err)
        finally:
            shutil.rmtree(job)


class StartupVariablesTest(unittest.TestCase):
    def test_compares_only_what_the_interpreter_reads_at_start(self):
        zygote = {"LANG": "C.UTF-8", "PYTHONPATH": "/shim", "HOME": "/job"}
        self.assertTrue(_main_script.starts_warm({**zygote, "HOME": "/elsewhere", "MPIAAS_RANK": "3"}, zygote))
        self.assertFalse(_main_script.starts_warm({**zygote, "LC_ALL": "C"}, zygote))
        self.assertFalse(_main_script.starts_warm({**zygote, "OPENBLAS_NUM_THREADS": "4"}, zygote))
        self.assertFalse(_main_script.starts_warm({"PYTHONPATH": "/shim"}, zygote))

    def test_names_the_script_as_the_interpreter_does(self):
        self.assertEqual(_main_script.script_path("script.py", "/job"), "/job/script.py")
        self.assertEqual(_main_script.script_path("tmp/x.py", "/"), "//tmp/x.py")
        self.assertEqual(_main_script.script_path("/abs/x.py", "/job"), "/abs/x.py")


if __name__ == "__main__":
    unittest.main()
