"""The rank launcher, as a process on a real Unix socket: spawning, fds, signals, ops."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def connect(path, header):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    sock.sendall(json.dumps(header).encode() + b"\n")
    return sock


def read_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return json.loads(data) if data else None


def ask(path, header):
    with connect(path, header) as sock:
        return read_line(sock)


def read_all(sock):
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class LauncherTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="launcher-test-")
        self.work = os.path.join(self.dir, "work")
        os.mkdir(self.work)
        self.socket = os.path.join(self.dir, "launcher.sock")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "rank_launcher.py"), "--socket", self.socket, "--work-dir", self.work, "--allow-root"],
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            if time.monotonic() > deadline:
                raise RuntimeError("launcher did not start")
            time.sleep(0.02)

    def tearDown(self):
        self.process.terminate()
        self.process.wait(10)
        self.process.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def spawn(self, code, fds=("channel", "stdout", "stderr")):
        spawn_id = uuid.uuid4().hex
        control = connect(self.socket, {
            "spawn": spawn_id, "role": "control", "argv": [sys.executable, "-c", code],
            "env": {"ONLY": "this"}, "cwd": self.work, "fds": list(fds),
        })
        conns = {role: connect(self.socket, {"spawn": spawn_id, "role": role}) for role in fds}
        started = read_line(control)
        return control, conns, started

    def test_connections_become_the_ranks_fds(self):
        code = (
            "import os, socket, sys\n"
            "s = socket.socket(fileno=3)\n"
            "s.sendall(s.recv(5).upper())\n"
            "print(os.environ.get('ONLY'), sorted(os.environ), os.getcwd())\n"
            "print('to stderr', file=sys.stderr)\n"
            "sys.exit(7)\n"
        )
        control, conns, started = self.spawn(code)
        self.assertIn("pid", started)
        conns["channel"].sendall(b"hello")
        self.assertEqual(conns["channel"].recv(5), b"HELLO")
        out = read_all(conns["stdout"]).decode()
        # Exactly the environment asked for (Python itself may add LC_CTYPE): none of the launcher's.
        self.assertTrue(out.startswith("this ["), out)
        self.assertNotIn("PATH", out)
        self.assertIn(os.path.realpath(self.work), out)
        self.assertEqual(read_all(conns["stderr"]), b"to stderr\n")
        self.assertEqual(read_line(control), {"exit": 7, "signal": None, "oom": False})

    def test_a_rank_prints_all_it_prints_though_nobody_reads_for_a_while(self):
        # Its stdio blocks as a pipe does: the launcher's non-blocking connections must not drop output.
        control, conns, started = self.spawn("for i in range(200000):\n    print(f'line {i:09d}')")
        time.sleep(0.5)
        out = read_all(conns["stdout"])
        self.assertEqual((len(out), out.count(b"\n")), (200000 * 15, 200000))
        self.assertEqual(read_line(control)["exit"], 0)

    def test_kill_signals_the_group_and_a_closed_control_kills_it(self):
        control, conns, started = self.spawn("import time; print('up', flush=True); time.sleep(60)")
        self.assertEqual(conns["stdout"].recv(3), b"up\n")
        control.sendall(b'{"kill": "SIGTERM"}\n')
        self.assertEqual(read_line(control), {"exit": None, "signal": "SIGTERM", "oom": False})
        control2, conns2, started2 = self.spawn("import time; time.sleep(60)")
        pid = started2["pid"]
        control2.close()
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(os.path.exists(f"/proc/{pid}"), "rank outlived its control connection")

    def test_a_missing_program_is_exit_127_with_a_message(self):
        spawn_id = "missing"
        control = connect(self.socket, {"spawn": spawn_id, "role": "control", "argv": ["/nonexistent"], "cwd": self.work, "fds": ["stderr"]})
        stderr = connect(self.socket, {"spawn": spawn_id, "role": "stderr"})
        self.assertIn("pid", read_line(control))
        self.assertIn(b"cannot start /nonexistent", read_all(stderr))
        self.assertEqual(read_line(control)["exit"], 127)

    def test_ops(self):
        hello = ask(self.socket, {"op": "hello"})
        self.assertEqual(hello["uid"], os.getuid())
        job = os.path.join(self.work, "job-1")
        os.makedirs(os.path.join(job, "locked"))
        with open(os.path.join(job, "locked", "data"), "wb") as f:
            f.write(b"x" * 10000)
        os.chmod(os.path.join(job, "locked"), 0)
        usage = ask(self.socket, {"op": "usage", "dir": job})
        self.assertGreaterEqual(usage["files"], 1)
        outside = ask(self.socket, {"op": "remove", "dir": self.dir})
        self.assertIn("not under", outside["error"])
        self.assertEqual(ask(self.socket, {"op": "remove", "dir": job}), {"ok": True})
        self.assertFalse(os.path.exists(job))

    def test_usage_counts_a_file_with_several_names_once(self):
        job = os.path.join(self.work, "job-links")
        os.makedirs(job)
        with open(os.path.join(job, "data"), "wb") as f:
            f.write(os.urandom(1 << 20))
        alone = ask(self.socket, {"op": "usage", "dir": job})["bytes"]
        for r in range(4):      # as a rank leaves data for four others (shared memory)
            os.link(os.path.join(job, "data"), os.path.join(job, "data.%d" % r))
        usage = ask(self.socket, {"op": "usage", "dir": job})
        self.assertEqual((usage["bytes"], usage["files"]), (alone, 5))

    def test_collect_gives_read_access_back_and_refuses_links(self):
        job = os.path.join(self.work, "job-2")
        out = os.path.join(job, "output", "0")
        os.makedirs(os.path.join(out, "sub"))
        with open(os.path.join(out, "a.txt"), "w") as f:
            f.write("abc")
        with open(os.path.join(out, "sub", "b.bin"), "wb") as f:
            f.write(b"\0" * 10)
        os.chmod(os.path.join(out, "a.txt"), 0o000)
        os.chmod(os.path.join(out, "sub"), 0o100)
        os.symlink("/etc/passwd", os.path.join(out, "passwd"))
        os.symlink(self.dir, os.path.join(out, "up"))
        os.mkfifo(os.path.join(out, "fifo"))
        reply = ask(self.socket, {"op": "collect", "dir": out})
        self.assertEqual(sorted((f["path"], f["bytes"]) for f in reply["files"]), [("a.txt", 3), ("sub/b.bin", 10)])
        self.assertEqual(
            sorted(s["path"] for s in reply["skipped"]),
            ["fifo", "passwd", "up"],
        )
        self.assertEqual(os.stat(os.path.join(out, "a.txt")).st_mode & 0o640, 0o640)
        self.assertEqual(os.stat(os.path.join(out, "sub")).st_mode & 0o750, 0o750)
        self.assertEqual(os.readlink(os.path.join(out, "passwd")), "/etc/passwd")
        # A single file (the result), and a folder reached through a link: refused.
        with open(os.path.join(job, "result.json"), "w") as f:
            f.write("{}")
        os.chmod(os.path.join(job, "result.json"), 0)
        self.assertEqual(ask(self.socket, {"op": "collect", "dir": os.path.join(job, "result.json")})["files"], [{"path": "", "bytes": 2}])
        os.symlink(out, os.path.join(job, "linked"))
        self.assertIn("symbolic link", ask(self.socket, {"op": "collect", "dir": os.path.join(job, "linked")})["error"])
        self.assertIn("not under", ask(self.socket, {"op": "collect", "dir": self.dir})["error"])
        self.assertIn("not under", ask(self.socket, {"op": "collect", "dir": os.path.join(out, "..", "..", "..", "..")})["error"])

    def test_a_bad_request_is_refused_and_the_launcher_goes_on(self):
        bad = connect(self.socket, {"spawn": "x", "role": "control", "argv": "not a list"})
        self.assertIn("error", read_line(bad))
        self.assertTrue(ask(self.socket, {"op": "hello"})["ok"])


if __name__ == "__main__":
    unittest.main()
