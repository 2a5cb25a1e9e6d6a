"""The sandbox a rank forked from the zygote enters before a line of its script runs.

It is the one the worker's wrappers give a freshly started rank (apps/worker/src/runs/
rank-sandbox.ts), entered with system calls instead of programs:
- its job's cgroups (memory, processes, CPU of the job as a whole);
- `bwrap`: as bubblewrap builds it, new mount, network, IPC, UTS and cgroup namespaces (the
  PID namespace comes with the fork: see new_pid_namespace), a root of its own (a tmpfs owned
  by the rank holding /usr and /etc read-only, the shim read-only at /opt/mpiaas/shim, its
  job's directory at /job and the job's /tmp, a fresh /proc and a minimal /dev) and nothing
  else of the host; `unshare`: a network namespace of its own; `limits-only`: neither;
- the limits prlimit sets (address space, file size, open files, no core dumps);
- a session of its own, no new privileges, no capability, the job's user and group.
Everything here runs as the zygote's user (root), on the worker's request only.
"""

import ctypes
import errno
import os
import platform
import resource
import signal

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38

SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

# Where the shim and a job's directory appear in the bwrap sandbox (rank-sandbox.ts).
SANDBOX_SHIM_DIR = "/opt/mpiaas/shim"
SANDBOX_JOB_DIR = "/job"
JOB_TMP_NAME = ".tmp"
# An empty folder of the zygote's own root, where each rank's root is built.
NEW_ROOT = "/newroot"
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
# Covered read-only in /proc, as bubblewrap does.
PROC_COVERED = ("sys", "sysrq-trigger", "irq", "bus")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


class SandboxError(Exception):
    pass


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None):
    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def _bind(source, target, readonly, nodev=True):
    _mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (MS_NODEV if nodev else 0) | (MS_RDONLY if readonly else 0)
    _mount(None, target, None, flags)


def _prctl(option, arg=0, arg3=0):
    _check(_libc.prctl(option, arg, arg3, 0, 0), f"prctl {option}")


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


class Sandbox:
    """What the worker fixed for every rank of this zygote (its command line)."""

    def __init__(self, kind, rlimits, network, interpreter_dirs, jobs_root, cgroup_root):
        if kind not in ("bwrap", "unshare", "limits-only"):
            raise ValueError(f"unknown sandbox {kind!r}")
        self.kind = kind
        self.rlimits = rlimits  # {resource.RLIMIT_*: value}
        self.network = network  # True: the host's network (RANK_NETWORK=host)
        self.interpreter_dirs = list(interpreter_dirs)
        self.jobs_root = os.path.realpath(jobs_root)
        self.cgroup_root = os.path.realpath(cgroup_root)
        self.root = os.getuid() == 0
        self.last_cap = int(open("/proc/sys/kernel/cap_last_cap").read()) if self.root else -1
        if kind == "bwrap":
            if not self.root:
                raise SandboxError("the bwrap sandbox needs a root zygote")
            if platform.machine() not in SYS_PIVOT_ROOT:
                raise SandboxError(f"pivot_root: unknown system call number on {platform.machine()}")
            os.stat(NEW_ROOT)
        if kind == "unshare" and not self.root:
            raise SandboxError("the unshare sandbox needs a root zygote")

    @property
    def pid_namespace(self):
        """Whether each rank is the first process of a PID namespace of its own."""
        return self.kind == "bwrap"

    def new_pid_namespace(self):
        """In the zygote, before forking a rank: the child starts a PID namespace (and is
        its process 1). restore_pid_namespace undoes it for the zygote's later children."""
        if self.pid_namespace:
            unshare(CLONE_NEWPID)

    def restore_pid_namespace(self, own_ns_fd):
        if self.pid_namespace:
            _check(_libc.setns(own_ns_fd, CLONE_NEWPID), "setns")

    def check_request(self, request):
        """The job's directory and cgroups must be the worker's: never a path elsewhere."""
        job_dir = os.path.realpath(request["jobDir"])
        if not job_dir.startswith(self.jobs_root + os.sep):
            raise SandboxError(f"{job_dir} is not under {self.jobs_root}")
        for procs in request.get("cgroups", []):
            real = os.path.realpath(procs)
            if not real.startswith(self.cgroup_root + os.sep) or os.path.basename(real) != "cgroup.procs":
                raise SandboxError(f"{procs} is not a cgroup of the worker's")
        if self.root and not (isinstance(request.get("uid"), int) and request["uid"] > 0 and request.get("gid", 0) > 0):
            raise SandboxError("a root zygote runs ranks only as a user of their own")
        return job_dir

    def enter(self, request, argv, python):
        """Confines this process (a rank just forked, running only the zygote's code) as a
        freshly started rank of this request would be."""
        job_dir = self.check_request(request)
        for procs in request.get("cgroups", []):
            with open(procs, "w") as f:
                f.write("0")  # this process
        if self.kind == "bwrap":
            unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | (0 if self.network else CLONE_NEWNET))
            self._root_of_its_own(job_dir, request["uid"], request["gid"])
        else:
            if self.kind == "unshare" and not self.network:
                unshare(CLONE_NEWNET)
            os.chdir(request["cwd"])
        self._show_in_proc(python, argv, request["env"])
        for which, value in self.rlimits.items():
            resource.setrlimit(which, (value, value))
        os.setsid()
        self._drop_privileges(request.get("uid"), request.get("gid"))
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    def _root_of_its_own(self, job_dir, uid, gid):
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        owner = f"uid={uid},gid={gid}"
        _mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0755,{owner}")

        def place(path, kind="dir"):
            # As bubblewrap makes them, as the rank's user: the rank owns its root's folders.
            target = NEW_ROOT + path
            parent = os.path.dirname(target)
            if not os.path.exists(parent):
                place(os.path.dirname(path))
            if kind == "dir":
                os.mkdir(target, 0o755)
            else:
                open(target, "w").close()
            os.lchown(target, uid, gid)
            return target

        def link(path, to):
            os.symlink(to, NEW_ROOT + path)
            os.lchown(NEW_ROOT + path, uid, gid)

        _bind("/usr", place("/usr"), True)
        _bind("/etc", place("/etc"), True)
        for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
            if os.path.islink(top):
                link(top, "usr" + top)
            elif os.path.isdir(top):
                _bind(top, place(top), True)
        self._proc(place("/proc"))
        self._dev(place("/dev"), owner, uid, gid)
        for folder in self.interpreter_dirs:
            _bind(folder, place(folder), True)
        _bind(SANDBOX_SHIM_DIR, place(SANDBOX_SHIM_DIR), True)
        _bind(job_dir, place(SANDBOX_JOB_DIR), False)
        _bind(os.path.join(job_dir, JOB_TMP_NAME), place("/tmp"), False)
        os.chdir(NEW_ROOT)
        _check(_libc.syscall(SYS_PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
        _check(_libc.umount2(b".", MNT_DETACH), "umount the old root")
        os.chdir(SANDBOX_JOB_DIR)

    @staticmethod
    def _proc(target):
        # This process is the first of its PID namespace: the /proc it mounts shows only it
        # and what it starts.
        _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for name in PROC_COVERED:
            covered = os.path.join(target, name)
            if os.path.exists(covered):
                _bind(covered, covered, True)

    @staticmethod
    def _dev(target, owner, uid, gid):
        _mount("tmpfs", target, "tmpfs", MS_NOSUID, f"mode=0755,{owner}")
        for device in DEVICES:
            node = os.path.join(target, device)
            open(node, "w").close()
            _bind("/dev/" + device, node, False, nodev=False)
        for name, to in (("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                         ("fd", "/proc/self/fd"), ("core", "/proc/kcore"), ("ptmx", "pts/ptmx")):
            os.symlink(to, os.path.join(target, name))
            os.lchown(os.path.join(target, name), uid, gid)
        for folder in ("shm", "pts"):
            os.mkdir(os.path.join(target, folder), 0o755)
            os.lchown(os.path.join(target, folder), uid, gid)
        _mount("devpts", os.path.join(target, "pts"), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")

    @staticmethod
    def _show_in_proc(python, argv, env):
        """/proc/<pid>/cmdline and environ as for a rank started with execve (ps, and tests
        finding a job's processes by MPIAAS_JOB_ID), which show the memory where the
        zygote's own were: written over (the worker leaves room in the zygote's environment;
        what does not fit is cut). The process's environment must have moved out of there
        first (os.environ set anew)."""
        stat = open("/proc/self/stat").read()
        fields = stat[stat.rfind(")") + 2:].split()  # fields from the 3rd (state) on
        for start, end, blob in (
            (int(fields[45]), int(fields[46]), b"\0".join(os.fsencode(a) for a in (python, "-u", *argv)) + b"\0"),
            (int(fields[47]), int(fields[48]), b"".join(os.fsencode(f"{k}={v}") + b"\0" for k, v in env.items())),
        ):
            size = end - start
            if size > 0:
                kept = blob[: size - 1]
                ctypes.memmove(start, kept + bytes(size - len(kept)), size)

    def _drop_privileges(self, uid, gid):
        # As bubblewrap: no setuid binary or file capability can give anything back.
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if not self.root:
            return
        for cap in range(self.last_cap + 1):
            if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
                raise SandboxError(f"cannot drop capability {cap}: {os.strerror(ctypes.get_errno())}")
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        # A process whose user changed is not dumpable: its /proc entries would be root's and
        # out of its own reach (/proc/self/fd...), unlike a rank started with execve.
        _prctl(PR_SET_DUMPABLE, 1)
