"""How long a process takes to join a fresh cgroup, as each rank joins its job's: the first
write to `cgroup.procs` (the one that may wait for an RCU grace period, unless the host's
cgroups have favordynmods) against the next ones, which never wait: the baseline of the
same run. Root only; it makes and removes its own cgroups under each v1 hierarchy the worker
uses (memory, pids, cpuacct), or under the cgroup2 mount where those are absent.
Usage: sudo python3 bench/cgroup-join.py [--runs N]
"""

import argparse
import os
import statistics
import sys
import time

ROOT = "/sys/fs/cgroup"
V1 = ("memory", "pids", "cpuacct")


def hierarchies():
    v1 = [os.path.join(ROOT, name) for name in V1 if os.access(os.path.join(ROOT, name), os.W_OK)]
    if v1:
        return v1
    return [ROOT] if os.path.exists(os.path.join(ROOT, "cgroup.controllers")) else []


def favordynmods_shown():
    with open("/proc/self/mountinfo") as mountinfo:
        return any(" - cgroup" in line and "favordynmods" in line.split(" - ")[1] for line in mountinfo)


def one_join(parents, n):
    """Forks a child that writes itself into a fresh cgroup under each parent; returns the
    seconds of each write (the first one first)."""
    dirs = [os.path.join(parent, f"mpiaas-bench-join-{os.getpid()}-{n}") for parent in parents]
    for folder in dirs:
        os.mkdir(folder)
    read, write = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:
            status = 1
            try:  # the child never returns into the parent's loop, whatever happens
                os.close(read)
                spent = []
                for folder in dirs:
                    started = time.perf_counter()
                    with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
                        procs.write("0")
                    spent.append(time.perf_counter() - started)
                os.write(write, repr(spent).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        answer = os.read(read, 4096)
        _, status = os.waitpid(pid, 0)
        if status != 0 or not answer:
            sys.exit("cgroup-join: the child could not join its cgroups")
        return [float(value) for value in answer.decode().strip("[]").split(",")]
    finally:
        os.close(read)
        for folder in dirs:
            os.rmdir(folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    if os.getuid() != 0:
        sys.exit("cgroup-join: needs root (it makes cgroups)")
    parents = hierarchies()
    if not parents:
        sys.exit(f"cgroup-join: no writable cgroup hierarchy under {ROOT}")
    first, next_ones = [], []
    for n in range(args.runs):
        spent = one_join(parents, n)
        first.append(spent[0] * 1000)
        next_ones.extend(s * 1000 for s in spent[1:])
        time.sleep(0.05)  # apart, as ranks of separate jobs are: nothing shares a grace period
    ms = lambda values: f"{statistics.median(values):.2f} ms (p90 {sorted(values)[int(len(values) * 0.9)]:.2f})"
    print(f"cgroup favordynmods shown in the mount table: {'yes' if favordynmods_shown() else 'no'}; "
          f"hierarchies: {', '.join(parents)}; {args.runs} processes\n")
    print("| write to cgroup.procs | median (p90) |")
    print("|---|---:|")
    print(f"| a process's first (a rank joining its job) | {ms(first)} |")
    if next_ones:
        print(f"| its next ones (baseline: never waits) | {ms(next_ones)} |")


if __name__ == "__main__":
    main()
