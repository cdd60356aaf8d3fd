"""A control group per worker: its memory in total (files in its folder, shared memory and
every process it starts included) and its number of processes.

RLIMIT_AS bounds one process's address space; a cgroup bounds what the kernel charges to
the worker and all its descendants. Used where the machine lets the grader make one:

- cgroup v2: a group under the zygote's own where that is the root group (the only one
  that may hold processes and give its children controllers), else next to it (in its
  parent, which must be writable and have the memory and pids controllers enabled for
  its children, as systemd does for a user's delegated slice): `memory.max`,
  `memory.swap.max` and `pids.max`;
- cgroup v1 (older systems, containers run as root): groups in the memory and pids
  hierarchies, `memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes`) and `pids.max`.

The zygote makes the group ahead of time, a middle process (forked ahead too) joins it,
the zygote sets the memory limit when the worker is asked for, the middle process forks
the worker into the group, and the zygote removes the group once the worker has been
reaped, saying whether the kernel killed a process of it for memory.
"""

from __future__ import annotations

import os

from grader.sandbox.mounts import mountinfo

PIDS_MAX = 64


class Unavailable(Exception):
    """The machine does not let this process make control groups."""


class Groups:
    """Where this zygote makes its workers' groups; `make` raises Unavailable when it cannot."""

    def __init__(self):
        self.bases, self.version = _find_bases()
        self.count = 0
        self.live: dict[int, list[str]] = {}  # worker pid -> its group folders
        _remove_stale(self.bases)

    def track(self, pid: int, paths: list[str]) -> None:
        if paths:
            self.live[pid] = paths

    def make(self) -> list[str]:
        """A new group in each base, its number of processes limited (memory: `limit`)."""
        self.count += 1
        name = f"dl-grader-{os.getpid()}-{self.count}"
        made = []
        try:
            for base in self.bases:
                path = os.path.join(base, name)
                os.mkdir(path)
                made.append(path)
                _configure(path)
        except OSError as exc:
            remove(made)
            raise Unavailable(f"{exc.strerror or exc} ({exc.filename or ''})") from None
        return made

    def forget(self, pid: int) -> bool:
        """Remove a reaped worker's groups; whether the kernel killed one of its processes
        for memory."""
        paths = self.live.pop(pid, [])
        oom = any(_oom_kills(p) for p in paths)
        remove(paths)
        return oom

    def close(self) -> None:
        for pid in list(self.live):
            self.forget(pid)


class NoGroups:
    """A machine where the grader cannot make groups: says why, each time it is asked."""

    def __init__(self, reason: str):
        self.reason = reason

    def make(self) -> list[str]:
        raise Unavailable(self.reason)

    def track(self, pid: int, paths: list[str]) -> None:
        pass

    def forget(self, pid: int) -> bool:
        return False

    def close(self) -> None:
        pass


def open_groups() -> "Groups | NoGroups":
    try:
        return Groups()
    except Unavailable as exc:
        return NoGroups(str(exc))


def join(paths: list[str]) -> None:
    """Move the calling process into the groups (its children will be born there)."""
    for path in paths:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write("0")


def remove(paths: list[str]) -> None:
    for path in paths:
        try:
            os.rmdir(path)
        except OSError:
            pass  # still busy (a process not yet gone): left for the system; it holds nothing


def _remove_stale(bases: list[str]) -> None:
    """Empty groups left by a zygote that was killed (Ctrl-C in a batch): those of a
    process that no longer exists."""
    for base in bases:
        try:
            names = [n for n in os.listdir(base) if n.startswith("dl-grader-")]
        except OSError:
            continue
        for name in names:
            try:
                os.kill(int(name.split("-")[2]), 0)
            except ProcessLookupError:
                remove([os.path.join(base, name)])
            except (ValueError, IndexError, OSError):
                pass


def limit(paths: list[str], memory_bytes: int) -> None:
    """The groups' memory limit (swap included: none beyond it)."""
    for path in paths:
        for name in ("memory.max", "memory.limit_in_bytes", "memory.swap.max", "memory.memsw.limit_in_bytes"):
            value = 0 if name == "memory.swap.max" else memory_bytes
            try:
                _write(path, name, value)
            except FileNotFoundError:
                continue  # not this version's file, or not this hierarchy's controller


def _configure(path: str) -> None:
    files = set(os.listdir(path))
    if "pids.max" in files:  # v2 (one folder, both controllers) or v1's pids hierarchy
        _write(path, "pids.max", PIDS_MAX)
    elif "memory.limit_in_bytes" not in files:
        raise OSError(0, "no memory or pids controller in the new group", path)


def _write(path: str, name: str, value: int) -> None:
    fd = os.open(os.path.join(path, name), os.O_WRONLY)  # never created: FileNotFoundError if absent
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _oom_kills(path: str) -> bool:
    for name in ("memory.events", "memory.oom_control"):
        try:
            with open(os.path.join(path, name)) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and int(value) > 0:
                        return True
        except (OSError, ValueError):
            continue
    return False


def _find_bases() -> tuple[list[str], int]:
    """The folders to make groups in: one for cgroup v2, or the memory and pids ones of v1."""
    mounts, own = _cgroup_mounts(), _own_groups()
    problems = []
    if "" in own and "cgroup2" in mounts:  # v2 (or the unified part of a hybrid system)
        here = os.path.join(mounts["cgroup2"], own[""].lstrip("/"))
        for base in (here, os.path.dirname(here.rstrip("/"))):  # its own (a root group), else next to it
            enabled = _read(os.path.join(base, "cgroup.subtree_control")).split()
            if {"memory", "pids"} <= set(enabled) and os.access(base, os.W_OK):
                return [base], 2
        problems.append("cgroup v2 without the memory and pids controllers delegated to the grader")
    bases = []
    for controller in ("memory", "pids"):
        if controller in own and controller in mounts:
            base = os.path.join(mounts[controller], own[controller].lstrip("/"))
            if os.access(base, os.W_OK):
                bases.append(base)
    if len(bases) == 2:
        return bases, 1
    problems.append("no writable cgroup v1 memory and pids hierarchies")
    raise Unavailable("; ".join(problems))


def _cgroup_mounts() -> dict[str, str]:
    """Mount point of cgroup2 ("cgroup2") and of each v1 controller ("memory", "pids")."""
    out = {}
    for point, _, fstype, super_options in mountinfo():
        if fstype == "cgroup2":
            out.setdefault("cgroup2", point)
        elif fstype == "cgroup":
            for option in super_options.split(","):
                if option in ("memory", "pids"):
                    out.setdefault(option, point)
    return out


def _own_groups() -> dict[str, str]:
    """This process's group in each hierarchy: "" for v2, else by controller."""
    out = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            out[controller] = path
    return out


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
