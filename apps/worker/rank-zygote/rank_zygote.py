"""The mpiaas rank zygote: a warm interpreter that forks the worker's ranks.

Started by the worker at boot (apps/worker/src/runs/warm-pool), with a clean environment (the
ranks' own defaults, no credential) and no file descriptor but its stdio. It imports numpy
and the shim's modules once, then waits on a Unix socket only the worker can reach. For each
rank it forks one child, which enters the rank's sandbox (zygote_sandbox.py) and runs the
script in the interpreter it was forked with (the shim's mpi4py/_main_script.py): a rank
costs a fork instead of an interpreter's start-up and imports. A child serves one rank of one
job and never anything else; the zygote itself never runs user code.

Nothing of a job stays in the zygote's memory, which every later child inherits: a rank's
request (its environment, arguments, paths) is read into a buffer of its own that the zygote
zeroes as soon as the child is forked; only the child parses it.

The protocol is the rank launcher's (apps/worker/rank-launcher/rank_launcher.py): a rank is a
set of connections, each opened with one JSON header line,
- `control`: {"spawn": ID, "role": "control", "fds": [...]} then one line, the request
  {"argv": [SCRIPT, ARGS...], "env", "cwd", "jobDir", "uid", "gid", "cgroups"}; replies
  {"pid": N} once forked (or {"error": ...}), {"exit": CODE, "signal": NAME} when the rank
  has exited; takes {"kill": SIGNAL} lines; its closing SIGKILLs the rank;
- `channel`, `stdout`, `stderr`, `stdin`: {"spawn": ID, "role": ROLE}: they become the
  rank's fds 3, 1, 2 and 0 as they are;
and {"op": "hello"} on a connection of its own answers who the zygote is.
"""

import argparse
import ctypes
import fcntl
import gc
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time

import zygote_sandbox
# shared with `mpiaas exec`'s rank forker; on the zygote's path as the shim is (PYTHONPATH)
from mpi4py import _main_script, _preload

HEADER_LIMIT = 4096
REQUEST_LIMIT = 16 << 20
FD_OF_ROLE = {"stdin": 0, "stdout": 1, "stderr": 2, "channel": 3}
ASSEMBLY_TIMEOUT_S = 30.0
OWN_MODULES = (
    "rank_zygote", "zygote_sandbox", "mpi4py._preload", "mpi4py._main_script", "mpi4py._warm_modules",
)
ENVIRON_SPACE = "MPIAAS_ZYGOTE_ENVIRON_SPACE"


def log(message):
    sys.stderr.write(f"rank-zygote: {message}\n")


def wipe(buffer):
    """Zeroes a bytearray in place (no copy of what it held is left behind)."""
    if len(buffer):
        ctypes.memset((ctypes.c_char * len(buffer)).from_buffer(buffer), 0, len(buffer))


class Rank:
    """A rank being assembled from its connections, then running."""

    def __init__(self, spawn_id, control, needed):
        self.id = spawn_id
        self.control = control
        self.needed = set(needed)
        self.conns = {}
        # The request line, read here and parsed only by the child (see the module's doc).
        self.request = bytearray(64 << 10)
        self.request_len = None
        self.received = 0
        self.leftover = b""  # control lines that came right after the request
        self.pid = None
        self.created = time.monotonic()

    def complete(self):
        return self.request_len is not None and self.needed <= set(self.conns)

    def read_request(self):
        """Reads what arrived of the request line; True once it is whole."""
        while True:
            if self.received == len(self.request):
                if len(self.request) >= REQUEST_LIMIT:
                    raise ValueError("request too long")
                grown = bytearray(len(self.request) * 2)
                grown[: self.received] = self.request
                wipe(self.request)
                self.request = grown
            view = memoryview(self.request)[self.received:]
            try:
                n = self.control.recv_into(view)
            except BlockingIOError:
                return False
            finally:
                view.release()
            if n == 0:
                raise EOFError("closed before its request")
            end = self.request.find(b"\n", self.received, self.received + n)
            self.received += n
            if end >= 0:
                self.request_len = end
                self.leftover = bytes(self.request[end + 1 : self.received])
                return True

    def forget_request(self):
        wipe(self.request)
        self.request = bytearray()


class Zygote:
    def __init__(self, socket_path, sandbox):
        self.socket_path = socket_path
        self.sandbox = sandbox
        self.selector = selectors.DefaultSelector()
        self.peek = bytearray(HEADER_LIMIT)
        self.pending = {}  # spawn id -> Rank being assembled
        self.orphans = {}  # spawn id -> (since, connections that came before their control)
        self.running = {}  # pid -> Rank
        self.stopping = False
        self.own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY) if sandbox.pid_namespace else None

    def start(self):
        preloaded = _preload.preload(_main_script.is_startup_variable, log=log)
        # What is here now lives on unchanged in every rank: the collector leaves it alone
        # (no pass over it in a rank, nor the copies of memory pages that would cost).
        gc.freeze()
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            # fork() keeps one thread: a library that started others would be left broken.
            raise RuntimeError(f"{threads} threads after the imports (OPENBLAS_NUM_THREADS and the like must be 1)")
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        staging = f"{self.socket_path}.{os.getpid()}"
        old = os.umask(0o077)  # the worker's user only
        self.listener.bind(staging)
        os.umask(old)
        self.listener.listen(256)
        os.rename(staging, self.socket_path)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, ("accept", None))
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno())
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.on_signal)
        self.selector.register(self.wake_r, selectors.EVENT_READ, ("wake", None))
        return preloaded

    def on_signal(self, signum, frame):
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True

    def serve(self):
        """Serves until stopped (returns None) or, in a forked child, returns its Rank."""
        while not self.stopping:
            for key, _ in self.selector.select(timeout=1.0):
                kind, data = key.data
                try:
                    if kind == "accept":
                        self.accept()
                    elif kind == "wake":
                        self.drain_wake()
                    elif kind in ("header", "request"):
                        child = self.on_header(key.fileobj) if kind == "header" else self.on_request(data)
                        if child is not None:
                            return child
                    elif kind == "control":
                        self.on_control(data)
                except Exception as error:  # one bad request must not stop the zygote
                    log(f"{kind}: {error}")
            self.reap_children()
            self.expire_pending()
        for rank in list(self.running.values()):
            self.kill(rank, signal.SIGKILL)
        return None

    def drain_wake(self):
        try:
            while self.wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            if int.from_bytes(creds[4:8], sys.byteorder) != os.getuid():
                conn.close()  # only the worker's user speaks to the zygote
                continue
            conn.setblocking(False)
            self.selector.register(conn, selectors.EVENT_READ, ("header", None))

    def read_header(self, conn):
        """One header line, without reading a byte past it (what follows is the rank's, or
        the request, which must not land in memory the zygote keeps)."""
        view = memoryview(self.peek)
        try:
            n = conn.recv_into(view, HEADER_LIMIT, socket.MSG_PEEK)
            if n == 0:
                raise EOFError("closed before its header")
            end = self.peek.find(b"\n", 0, n)
            if end < 0:
                if n >= HEADER_LIMIT:
                    raise ValueError("header too long")
                return None
            header = json.loads(bytes(self.peek[:end]))
            conn.recv_into(view, end + 1)
        finally:
            view.release()
            wipe(self.peek)
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        return header

    def on_header(self, conn):
        try:
            header = self.read_header(conn)
        except BlockingIOError:
            return None
        except (EOFError, ValueError, OSError) as error:
            self.selector.unregister(conn)
            conn.close()
            if not isinstance(error, EOFError):
                log(f"refused a connection: {error}")
            return None
        if header is None:
            return None
        self.selector.unregister(conn)
        if header.get("op") == "hello":
            self.reply(conn, {"ok": True, "pid": os.getpid(), "uid": os.getuid(), "sandbox": self.sandbox.kind})
            conn.close()
            return None
        spawn_id = str(header.get("spawn", ""))
        role = header.get("role")
        if role == "control":
            needed = header.get("fds", ["channel", "stdout", "stderr"])
            if not isinstance(needed, list) or not set(needed) <= set(FD_OF_ROLE) or not {"channel", "stdout", "stderr"} <= set(needed):
                self.reply(conn, {"error": f"bad fds {needed!r}"})
                conn.close()
                return None
            rank = Rank(spawn_id, conn, needed)
            rank.conns.update(self.orphans.pop(spawn_id, (0, {}))[1])
            self.pending[spawn_id] = rank
            self.selector.register(conn, selectors.EVENT_READ, ("request", rank))
            return self.on_request(rank)  # it usually came with the header
        elif role in FD_OF_ROLE:
            rank = self.pending.get(spawn_id)
            if rank is None:
                self.orphans.setdefault(spawn_id, (time.monotonic(), {}))[1][role] = conn
                return None
            rank.conns[role] = conn
            if rank.complete():
                return self.spawn(rank)
        else:
            conn.close()
        return None

    def on_request(self, rank):
        try:
            if rank.request_len is None and not rank.read_request():
                return None
        except (EOFError, ValueError, OSError) as error:
            self.fail(rank, f"request: {error}")
            return None
        if rank.complete():
            return self.spawn(rank)
        return None

    def spawn(self, rank):
        """Forks the rank's process. Returns the Rank in the child, None in the zygote."""
        del self.pending[rank.id]
        self.selector.unregister(rank.control)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            self.sandbox.new_pid_namespace()
            pid = os.fork()
        except OSError as error:
            self.sandbox.restore_pid_namespace(self.own_pid_ns)
            self.fail(rank, f"cannot start the rank: {error}")
            return None
        if pid == 0:
            return rank
        self.sandbox.restore_pid_namespace(self.own_pid_ns)
        rank.pid = pid
        rank.forget_request()
        self.running[pid] = rank
        for conn in rank.conns.values():
            conn.close()  # the rank has its own copies
        rank.conns = {}
        self.reply(rank.control, {"pid": pid})
        rank.control.setblocking(False)
        self.selector.register(rank.control, selectors.EVENT_READ, ("control", rank))
        if rank.leftover:
            self.on_control_lines(rank, rank.leftover)
        return None

    def reply(self, conn, message):
        try:
            conn.setblocking(True)
            conn.settimeout(5)
            conn.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            pass  # the worker is gone: nothing to tell

    def fail(self, rank, message):
        self.pending.pop(rank.id, None)
        rank.forget_request()
        try:
            self.selector.unregister(rank.control)
        except (KeyError, ValueError):
            pass
        self.reply(rank.control, {"error": message})
        rank.control.close()
        for conn in rank.conns.values():
            conn.close()

    def on_control(self, rank):
        try:
            data = rank.control.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            # The worker is gone or gave up: the rank must not outlive it.
            self.kill(rank, signal.SIGKILL)
            self.selector.unregister(rank.control)
            return
        self.on_control_lines(rank, data)

    def on_control_lines(self, rank, data):
        for line in data.splitlines():
            try:
                self.kill(rank, signal.Signals[json.loads(line).get("kill")])
            except (ValueError, KeyError, AttributeError):
                log(f"ignored control line {line[:80]!r}")

    def kill(self, rank, sig):
        if rank.pid is None or rank.pid not in self.running:
            return  # reaped: its PID may be another process's now
        if self.sandbox.pid_namespace:
            # The rank is its namespace's first process: only signals it handles reach it
            # (a SIGTERM would not), and its end takes every process it started along.
            # bubblewrap's rank died the same way: SIGKILLed with its sandbox.
            sig = signal.SIGINT if sig == signal.SIGINT else signal.SIGKILL
            targets = (lambda: os.kill(rank.pid, sig),)
        else:
            targets = (lambda: os.killpg(rank.pid, sig), lambda: os.kill(rank.pid, sig))
        for target in targets:
            try:
                target()
            except OSError:
                pass

    def reap_children(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            rank = self.running.pop(pid, None)
            if rank is None:
                continue
            if not self.sandbox.pid_namespace:
                try:
                    os.killpg(pid, signal.SIGKILL)  # what the rank left in its group
                except OSError:
                    pass
            if os.WIFSIGNALED(status):
                reply = {"exit": None, "signal": signal.Signals(os.WTERMSIG(status)).name}
            else:
                reply = {"exit": os.WEXITSTATUS(status), "signal": None}
            self.reply(rank.control, reply)
            try:
                self.selector.unregister(rank.control)
            except (KeyError, ValueError):
                pass
            rank.control.close()

    def expire_pending(self):
        now = time.monotonic()
        for rank in list(self.pending.values()):
            if now - rank.created > ASSEMBLY_TIMEOUT_S:
                self.fail(rank, f"not every connection of the rank arrived within {ASSEMBLY_TIMEOUT_S:.0f} s")
        for spawn_id, (since, conns) in list(self.orphans.items()):
            if now - since > ASSEMBLY_TIMEOUT_S:
                del self.orphans[spawn_id]
                for conn in conns.values():
                    conn.close()

    def leave_for(self, rank):
        """In the forked child: drops all that is the zygote's (every other rank's request
        and connections, the listener) and puts the rank's connections on fds 0-3."""
        for other in list(self.pending.values()):
            other.forget_request()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.selector.close()
        sockets = [self.listener, self.wake_r, self.wake_w]
        for other in [*self.pending.values(), *self.running.values()]:
            sockets += [other.control, *other.conns.values()]
        for _, conns in self.orphans.values():
            sockets += conns.values()
        for sock in sockets:
            sock.close()
        if self.own_pid_ns is not None:
            os.close(self.own_pid_ns)
        sources = {role: conn.fileno() for role, conn in rank.conns.items()}
        # Out of the way of 0-3 first (the zygote's own fds just closed may have freed them).
        high = {role: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 4) for role, fd in sources.items()}
        for conn in rank.conns.values():
            conn.close()
        for role, fd in high.items():
            os.dup2(fd, FD_OF_ROLE[role])
            # The zygote reads its connections without blocking; the rank's stdio blocks as
            # a pipe does (else a full socket buffer would drop what the script prints).
            os.set_blocking(FD_OF_ROLE[role], True)
        if "stdin" not in high:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
        rank.control.close()
        request = json.loads(bytes(rank.request[: rank.request_len]))
        rank.forget_request()
        os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        return request


def become_rank(zygote, rank, zygote_env):
    """In the forked child: the rank's sandbox, then its script; never returns."""
    python = sys.executable
    try:
        request = zygote.leave_for(rank)
        argv = [str(a) for a in request["argv"]]
        env = {str(k): str(v) for k, v in request["env"].items()}
        request["env"] = env
        _main_script.replace_environment(env)
        zygote.sandbox.enter(request, argv, python)
    except BaseException as error:  # noqa: BLE001 - the rank cannot start: say why, as its stderr
        try:
            os.write(2, f"mpiaas: cannot start the rank: {error}\n".encode())
        finally:
            os._exit(127)
    _main_script.run_as_rank(python, argv, env, zygote_env, OWN_MODULES)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Forks mpiaas ranks from a warm interpreter on the worker's request.")
    parser.add_argument("--socket", required=True, help="Unix socket the worker connects to")
    parser.add_argument("--sandbox", required=True, choices=("bwrap", "unshare", "limits-only"))
    parser.add_argument("--jobs-root", required=True, help="the folder holding the jobs' directories")
    parser.add_argument("--cgroup-root", default="/sys/fs/cgroup")
    parser.add_argument("--rlimit-as", type=int, required=True)
    parser.add_argument("--rlimit-fsize", type=int, required=True)
    parser.add_argument("--rlimit-nofile", type=int, required=True)
    parser.add_argument("--host-network", action="store_true")
    parser.add_argument("--interpreter-dir", action="append", default=[])
    args = parser.parse_args(argv)
    # Nothing the worker's own parent left open reaches the zygote, hence no rank.
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    # Room for a rank's environment in /proc (zygote_sandbox._show_in_proc), not a setting.
    os.environ.pop(ENVIRON_SPACE, None)
    zygote_env = dict(os.environ)
    sandbox = zygote_sandbox.Sandbox(
        args.sandbox,
        {resource.RLIMIT_AS: args.rlimit_as, resource.RLIMIT_FSIZE: args.rlimit_fsize,
         resource.RLIMIT_NOFILE: args.rlimit_nofile, resource.RLIMIT_CORE: 0},
        args.host_network,
        args.interpreter_dir,
        args.jobs_root,
        args.cgroup_root,
    )
    zygote = Zygote(args.socket, sandbox)
    preloaded = zygote.start()
    print(json.dumps({"ready": True, "pid": os.getpid(), "preloaded": preloaded}), flush=True)
    rank = zygote.serve()
    if rank is None:
        return 0
    become_rank(zygote, rank, zygote_env)


if __name__ == "__main__":
    sys.exit(main())
