"""The mpiaas rank launcher: starts rank processes on the worker's request.

It runs in the `ranks` container of a worker pod (docker-compose: the `ranks` service paired
with a worker), the only place user code runs. That container holds no credential: no
Secret, no service-account token, its own user id, its own PID namespace. The worker, which
holds the credentials, asks for ranks over a Unix socket in a volume both containers mount.

A rank is a set of connections to that socket, each starting with one JSON header line:
- `control`: {"spawn": ID, "role": "control", "argv": [...], "env": {...}, "cwd": DIR,
  "fds": ["channel", "stdout", "stderr"(, "stdin")]}; replies {"pid": N} once started (or
  {"error": ...}), then {"exit": CODE, "signal": NAME, "oom": BOOL} when the rank has exited.
  The worker writes {"kill": "SIGTERM"} lines to signal the rank's process group; when the
  control connection closes (the worker died), the group is SIGKILLed.
- `channel`, `stdout`, `stderr`, `stdin`: {"spawn": ID, "role": ROLE}. These connections
  themselves become the rank's fds 3 (its agent channel), 1, 2 and 0: nothing is relayed, so
  the launcher adds no copy and no latency to a rank's traffic.

Other requests, one connection each, {"op": ...} answered with one line:
- hello: who the launcher is ({"uid", "gid", "memoryLimit"}), checked by the worker at boot;
- reap: SIGKILLs every process of this container but the launcher and PID 1 (what a job left
  behind, a daemon that escaped its group) and answers {"killed": N};
- usage {"dir"}: bytes and files under a job's directory, which the ranks own;
- remove {"dir"}: deletes a job's directory, whatever modes the script gave its files;
- collect {"dir", "maxEntries"}: hands a job's output folder (or result file) to the worker:
  gives its group read access back to every folder and regular file under it (the script may
  have taken it away) and answers {"files": [{"path", "bytes"}], "skipped": [{"path", "why"}]};
  symbolic links are never followed nor changed, and a `dir` reached through one is refused.

Only the Python standard library: it runs with the interpreter the ranks use.
"""

import argparse
import errno
import json
import os
import selectors
import signal
import socket
import stat
import sys
import time

HEADER_LIMIT = 1 << 20
FD_OF_ROLE = {"stdin": 0, "stdout": 1, "stderr": 2, "channel": 3}
# A rank whose connections do not all arrive within this is given up.
ASSEMBLY_TIMEOUT_S = 30.0


def log(message):
    sys.stderr.write(f"rank-launcher: {message}\n")
    sys.stderr.flush()


def read_header(sock):
    """Reads one header line without consuming a byte past it: the rest is the rank's."""
    peeked = sock.recv(HEADER_LIMIT, socket.MSG_PEEK)
    if not peeked:
        raise EOFError("closed before its header")
    end = peeked.find(b"\n")
    if end < 0:
        if len(peeked) >= HEADER_LIMIT:
            raise ValueError("header too long")
        return None  # not all there yet: wait for more
    line = b""
    while len(line) < end + 1:
        chunk = sock.recv(end + 1 - len(line))
        if not chunk:
            raise EOFError("closed inside its header")
        line += chunk
    header = json.loads(line)
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header


def send_line(sock, message):
    try:
        sock.setblocking(True)
        sock.settimeout(5)
        sock.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the worker is gone: nothing to tell


class CgroupMemory:
    """The memory limit this container runs under and its OOM-kill count (cgroup v2 or v1)."""

    def __init__(self, root="/sys/fs/cgroup"):
        self.events = None
        self.limit_file = None
        self.v1 = False
        try:
            with open("/proc/self/cgroup") as f:
                lines = f.read().splitlines()
        except OSError:
            return
        for line in lines:
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            _, controllers, where = parts
            if "memory" in controllers.split(","):
                base = os.path.join(root, "memory", where.lstrip("/"))
                if os.path.exists(os.path.join(base, "memory.oom_control")):
                    self.events = os.path.join(base, "memory.oom_control")
                    self.limit_file = os.path.join(base, "memory.limit_in_bytes")
                    self.v1 = True
                    return
            if controllers == "" and parts[0] == "0":
                base = os.path.join(root, where.lstrip("/"))
                if os.path.exists(os.path.join(base, "memory.events")):
                    self.events = os.path.join(base, "memory.events")
                    self.limit_file = os.path.join(base, "memory.max")

    def oom_kills(self):
        if not self.events:
            return 0
        try:
            with open(self.events) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def limit(self):
        if not self.limit_file:
            return None
        try:
            with open(self.limit_file) as f:
                value = f.read().strip()
        except OSError:
            return None
        if value == "max" or not value.isdigit() or int(value) >= 1 << 60:
            return None
        return int(value)


def directory_usage(path, max_files):
    """Allocated bytes and entries under `path`, without following links. A file with several
    names (hard links: how ranks hand each other large data) counts its bytes once."""
    total_bytes = 0
    files = 0
    linked = set()
    pending = [path]
    while pending and files <= max_files:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except PermissionError:
            # A script cannot hide files from the count by taking its own read access away:
            # the launcher is their owner and gives it back.
            try:
                os.chmod(current, stat.S_IMODE(os.lstat(current).st_mode) | 0o700, follow_symlinks=False)
                entries = list(os.scandir(current))
            except (OSError, NotImplementedError):
                continue
        except OSError:
            continue
        for entry in entries:
            files += 1
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) in linked:
                    continue
                linked.add((st.st_dev, st.st_ino))
            total_bytes += st.st_blocks * 512
            if stat.S_ISDIR(st.st_mode):
                pending.append(entry.path)
            if files > max_files:
                break
    return total_bytes, files


def remove_tree(path):
    """Deletes `path` even where the script took its own permissions away (it owns the files)."""
    for current, dirs, files in os.walk(path, topdown=True, onerror=lambda e: None):
        for name in dirs:
            try:
                os.chmod(os.path.join(current, name), 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass
    for current, dirs, files in os.walk(path, topdown=False, onerror=lambda e: None):
        for name in files:
            try:
                os.unlink(os.path.join(current, name))
            except OSError:
                pass
        for name in dirs:
            full = os.path.join(current, name)
            try:
                if os.path.islink(full):
                    os.unlink(full)
                else:
                    os.rmdir(full)
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass  # the folder itself may be the worker's to remove (its parent is the worker's)


def collect_tree(path, max_entries):
    """Group read (and search on folders) under `path`, without following links; what it holds."""
    files, skipped = [], []
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        os.chmod(path, stat.S_IMODE(st.st_mode) | 0o640, follow_symlinks=False)
        return [{"path": "", "bytes": st.st_size}], []
    if not stat.S_ISDIR(st.st_mode):
        return [], [{"path": "", "why": "not a folder or a regular file"}]
    os.chmod(path, stat.S_IMODE(st.st_mode) | 0o750, follow_symlinks=False)
    pending = [(path, "")]
    seen = 0
    while pending:
        current, rel = pending.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as error:
            skipped.append({"path": rel or ".", "why": f"cannot read the folder: {error.strerror}"})
            continue
        for entry in entries:
            seen += 1
            child = f"{rel}/{entry.name}" if rel else entry.name
            if seen > max_entries:
                skipped.append({"path": child, "why": f"more than {max_entries} entries"})
                return files, skipped
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                skipped.append({"path": child, "why": "a symbolic link (never followed)"})
            elif stat.S_ISDIR(st.st_mode):
                try:
                    os.chmod(entry.path, stat.S_IMODE(st.st_mode) | 0o750, follow_symlinks=False)
                except OSError:
                    pass
                pending.append((entry.path, child))
            elif stat.S_ISREG(st.st_mode):
                try:
                    os.chmod(entry.path, stat.S_IMODE(st.st_mode) | 0o640, follow_symlinks=False)
                except OSError:
                    pass
                files.append({"path": child, "bytes": st.st_size})
            else:
                skipped.append({"path": child, "why": "not a regular file"})
    return files, skipped


def other_processes():
    """Pids of this PID namespace that are neither PID 1 nor the launcher."""
    me = os.getpid()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            pids.append(int(entry))
    return pids


class Rank:
    def __init__(self, spawn_id, control, header):
        self.id = spawn_id
        self.control = control
        self.argv = header["argv"]
        self.env = header.get("env", {})
        self.cwd = header.get("cwd", "/")
        self.needed = set(header.get("fds", ["channel", "stdout", "stderr"]))
        unknown = self.needed - set(FD_OF_ROLE)
        if unknown or not isinstance(self.argv, list) or not self.argv:
            raise ValueError(f"bad spawn request: fds {sorted(unknown)}, argv {self.argv!r}")
        self.conns = {}
        self.pid = None
        self.oom_before = 0
        self.created = time.monotonic()

    def complete(self):
        return self.needed <= set(self.conns)


class Launcher:
    def __init__(self, socket_path, work_dir, umask):
        self.socket_path = socket_path
        self.work_dir = os.path.realpath(work_dir)
        self.umask = umask
        self.memory = CgroupMemory()
        self.selector = selectors.DefaultSelector()
        self.pending = {}  # spawn id -> Rank being assembled
        self.orphans = {}  # spawn id -> (since, connections that came before their control)
        self.running = {}  # pid -> Rank
        self.stopping = False

    def start(self):
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The worker's user must connect: the socket is group-writable (the volume's group).
        # Bound under a temporary name and renamed once listening: whoever sees the path can connect.
        staging = f"{self.socket_path}.{os.getpid()}"
        old = os.umask(0o007)
        self.listener.bind(staging)
        os.umask(old)
        self.listener.listen(256)
        os.rename(staging, self.socket_path)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, ("accept", None))
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())
        self.wake_w = wake_w
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.on_signal)
        self.selector.register(wake_r, selectors.EVENT_READ, ("wake", None))
        log(f"listening on {self.socket_path} as uid {os.getuid()}, memory limit {self.memory.limit()}")

    def on_signal(self, signum, frame):
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True

    def serve(self):
        while not self.stopping:
            for key, _ in self.selector.select(timeout=1.0):
                kind, data = key.data
                try:
                    if kind == "accept":
                        self.accept()
                    elif kind == "wake":
                        try:
                            key.fileobj.recv(4096)
                        except BlockingIOError:
                            pass
                    elif kind == "header":
                        self.on_header(key.fileobj)
                    elif kind == "control":
                        self.on_control(data)
                except Exception as error:  # one bad request must not stop the launcher
                    log(f"{kind}: {error}")
            self.reap_children()
            self.expire_pending()
        for rank in list(self.running.values()):
            self.kill_group(rank, signal.SIGKILL)

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            self.selector.register(conn, selectors.EVENT_READ, ("header", None))

    def on_header(self, conn):
        try:
            conn.setblocking(True)
            conn.settimeout(5)
            header = read_header(conn)
        except (EOFError, ValueError, OSError) as error:
            self.selector.unregister(conn)
            conn.close()
            if not isinstance(error, EOFError):
                log(f"refused a connection: {error}")
            return
        finally:
            if conn.fileno() >= 0:
                conn.setblocking(False)
        if header is None:
            return
        self.selector.unregister(conn)
        if "op" in header:
            self.answer(conn, header)
            return
        spawn_id = str(header.get("spawn", ""))
        role = header.get("role")
        if role == "control":
            try:
                rank = Rank(spawn_id, conn, header)
            except (KeyError, ValueError) as error:
                send_line(conn, {"error": str(error)})
                conn.close()
                return
            rank.conns.update(self.orphans.pop(spawn_id, (0, {}))[1])
            self.pending[spawn_id] = rank
            self.selector.register(conn, selectors.EVENT_READ, ("control", rank))
        elif role in FD_OF_ROLE:
            rank = self.pending.get(spawn_id)
            if rank is None:
                self.orphans.setdefault(spawn_id, (time.monotonic(), {}))[1][role] = conn
                return
            rank.conns[role] = conn
        else:
            conn.close()
            return
        rank = self.pending.get(spawn_id)
        if rank and rank.complete():
            del self.pending[spawn_id]
            self.spawn(rank)

    def answer(self, conn, header):
        try:
            reply = self.operate(header)
        except Exception as error:  # answered, never left hanging
            reply = {"error": f"{header.get('op')}: {error}"}
        send_line(conn, reply)
        conn.close()

    def operate(self, header):
        op = header["op"]
        if op == "hello":
            reply = {"ok": True, "uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "memoryLimit": self.memory.limit()}
        elif op == "reap" and not self.contained():
            reply = {"killed": 0, "skipped": "not in a PID namespace of its own: other processes may not be the ranks'"}
        elif op == "reap":
            killed = 0
            for pid in other_processes():
                if pid in self.running:
                    continue  # a rank still running is its control's business
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
            reply = {"killed": killed}
        elif op in ("usage", "remove"):
            target = os.path.realpath(str(header.get("dir", "")))
            if not target.startswith(self.work_dir + os.sep):
                reply = {"error": f"{target} is not under {self.work_dir}"}
            elif op == "usage":
                used, files = directory_usage(target, int(header.get("maxFiles", 1 << 30)))
                reply = {"bytes": used, "files": files}
            else:
                remove_tree(target)
                reply = {"ok": True}
        elif op == "collect":
            target = os.path.abspath(str(header.get("dir", "")))
            if not target.startswith(self.work_dir + os.sep):
                reply = {"error": f"{target} is not under {self.work_dir}"}
            elif os.path.realpath(target) != target:
                reply = {"error": f"{target} is reached through a symbolic link"}
            else:
                files, skipped = collect_tree(target, int(header.get("maxEntries", 100000)))
                reply = {"files": files, "skipped": skipped}
        else:
            reply = {"error": f"unknown op {op!r}"}
        return reply

    @staticmethod
    def contained():
        """Whether the launcher is its PID namespace's init or init's child (tini in a container)."""
        return os.getpid() == 1 or os.getppid() == 1

    def spawn(self, rank):
        rank.oom_before = self.memory.oom_kills()
        sources = {role: conn.fileno() for role, conn in rank.conns.items()}
        try:
            os.stat(rank.cwd)
            pid = os.fork()
        except OSError as error:
            self.finish_failed(rank, f"cannot start the rank: {error}")
            return
        if pid == 0:
            self.exec_child(rank, sources)
        rank.pid = pid
        self.running[pid] = rank
        # The rank has its own copies; the worker keeps the other ends.
        for conn in rank.conns.values():
            conn.close()
        rank.conns = {}
        send_line(rank.control, {"pid": pid})
        rank.control.setblocking(False)

    def exec_child(self, rank, sources):
        # In the child: only system calls until exec.
        try:
            os.setsid()
            os.chdir(rank.cwd)
            os.umask(self.umask)
            # Out of the way of 0-3 first, then into place (a source may already be 0-3).
            high = {role: os.dup(fd) for role, fd in sources.items()}
            for role, fd in high.items():
                os.dup2(fd, FD_OF_ROLE[role])
                # The launcher reads its connections without blocking; the rank's stdio blocks
                # as a pipe does (else a full socket buffer would drop what the script prints).
                os.set_blocking(FD_OF_ROLE[role], True)
            if "stdin" not in high:
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
            for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            os.execve(rank.argv[0], rank.argv, rank.env)
        except BaseException as error:
            try:
                os.write(2, f"cannot start {rank.argv[0]}: {error}\n".encode())
            finally:
                os._exit(127)

    def finish_failed(self, rank, message):
        send_line(rank.control, {"error": message})
        self.close_rank(rank)

    def close_rank(self, rank):
        try:
            self.selector.unregister(rank.control)
        except (KeyError, ValueError):
            pass
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
            if rank.pid is not None and rank.pid in self.running:
                self.kill_group(rank, signal.SIGKILL)
            else:
                self.pending.pop(rank.id, None)
            try:
                self.selector.unregister(rank.control)
            except (KeyError, ValueError):
                pass
            return
        for line in data.splitlines():
            try:
                name = json.loads(line).get("kill")
                self.kill_group(rank, signal.Signals[name])
            except (ValueError, KeyError, AttributeError):
                log(f"ignored control line {line[:80]!r}")

    def kill_group(self, rank, sig):
        if rank.pid is None:
            return
        try:
            os.killpg(rank.pid, sig)
        except OSError:
            pass
        # The rank itself too while it is ours (not reaped, so its pid cannot be reused): just
        # after fork it may not lead its group (setsid) yet.
        if rank.pid in self.running:
            try:
                os.kill(rank.pid, sig)
            except OSError:
                pass

    def reap_children(self):
        # The launcher may be PID 1 of the container: it reaps every orphan too.
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
            # Whatever the rank left in its group goes with it, as under a local worker.
            self.kill_group(rank, signal.SIGKILL)
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                oom = sig == signal.SIGKILL and self.memory.oom_kills() > rank.oom_before
                reply = {"exit": None, "signal": signal.Signals(sig).name, "oom": oom}
            else:
                reply = {"exit": os.WEXITSTATUS(status), "signal": None, "oom": False}
            send_line(rank.control, reply)
            self.close_rank(rank)

    def expire_pending(self):
        now = time.monotonic()
        for spawn_id, rank in list(self.pending.items()):
            if now - rank.created > ASSEMBLY_TIMEOUT_S:
                del self.pending[spawn_id]
                self.finish_failed(rank, f"not every connection of the rank arrived within {ASSEMBLY_TIMEOUT_S:.0f} s")
        # Connections whose control never came.
        for spawn_id, (since, conns) in list(self.orphans.items()):
            if now - since > ASSEMBLY_TIMEOUT_S:
                del self.orphans[spawn_id]
                for conn in conns.values():
                    conn.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Starts mpiaas rank processes on the worker's request.")
    parser.add_argument("--socket", required=True, help="Unix socket path the worker connects to")
    parser.add_argument("--work-dir", required=True, help="the jobs' folder shared with the worker")
    parser.add_argument("--umask", default="007", help="umask of the ranks (octal): the worker's group reads their files")
    parser.add_argument("--allow-root", action="store_true", help="run ranks as root (never in a deployment)")
    args = parser.parse_args(argv)
    if os.getuid() == 0 and not args.allow_root:
        parser.error("refusing to run ranks as root: give the ranks container a user of its own")
    launcher = Launcher(args.socket, args.work_dir, int(args.umask, 8))
    launcher.start()
    launcher.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
