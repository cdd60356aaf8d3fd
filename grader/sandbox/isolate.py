"""Confining the worker: resource limits, namespaces, capabilities, Landlock, file descriptors.

Everything here runs in the child, between fork and importing student code (the
filesystem view is in `mounts`, the system call filter in `seccomp`). Each step that the
kernel does not offer is skipped and reported, so grading still works (with a warning) on
a laptop without Landlock or namespaces, such as macOS.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import resource
import sys
import sysconfig

from grader.sandbox import seccomp  # imported here: the worker cannot import once it is confined

# clone(2) flags
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
KEYCTL_JOIN_SESSION_KEYRING = 1

# Landlock (include/uapi/linux/landlock.h); syscall numbers are the same on every arch.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt(3)
OPEN_FILES = 256  # each can hold a socket's buffers: kernel memory outside RLIMIT_AS
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ_ONLY = EXECUTE | READ_FILE | READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64),
                ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.cache
def libc():
    """Loaded once, in the zygote; each worker inherits it (loading costs about 1 ms)."""
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 where there is none."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        abi = libc().syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                              ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(abi, 0)


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def landlock(readable: list[str], writable: list[str]) -> str | None:
    """Allow reading `readable` and everything in `writable`; deny all other paths.

    From ABI 6 on, also forbid signalling processes outside this domain and connecting
    to abstract unix sockets outside it. Returns None, or why Landlock is not in force.
    """
    abi = landlock_abi()
    if abi < 1:
        return "Landlock is not available on this system: the worker can read any file your user can read"
    lib = libc()
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, 0, (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 8
    ruleset = lib.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return (f"landlock_create_ruleset failed (errno {ctypes.get_errno()}): the worker can read any "
                "file your user can read")
    try:
        for paths, access in ((readable, READ_ONLY), (writable, handled)):
            for path in paths:
                _add_rule(lib, ruleset, path, access & handled)
        if lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"prctl(NO_NEW_PRIVS) failed (errno {ctypes.get_errno()})"
        if lib.syscall(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return (f"landlock_restrict_self failed (errno {ctypes.get_errno()}): the worker can read any "
                    "file your user can read")
    finally:
        os.close(ruleset)
    return None


def _add_rule(libc, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this system does not have
    try:
        if not os.path.isdir(path):
            access &= FILE_ONLY
        rule = _PathBeneathAttr(access, fd)
        libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                     ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)


@functools.cache
def readable_paths(exclude: tuple[str, ...]) -> tuple[str, ...]:
    """What the worker may read: the Python installation, its packages, system libraries.

    A path that contains one of `exclude` (the course folder) is left out, so a Python
    installed inside the course cannot open the course to the worker. Worked out in the
    grader's process (the worker is never told where the course is) and cached there
    (sysconfig and realpath take a few ms).
    """
    paths = {p for key in ("stdlib", "platstdlib", "purelib", "platlib")
             if (p := sysconfig.get_paths().get(key))}
    paths |= {os.path.join(sys.base_prefix, "lib"), os.path.join(sys.prefix, "lib"),
              "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib",
              "/etc/ld.so.cache", "/etc/localtime", "/usr/share/zoneinfo", "/dev/null",
              "/dev/urandom", "/sys/devices/system/cpu"}
    out = []
    for p in sorted(paths):
        real = os.path.realpath(p)
        if any(os.path.realpath(e).startswith(real.rstrip("/") + "/") or os.path.realpath(e) == real
               for e in exclude):
            continue
        out.append(p)
    return tuple(out)


NAMESPACES = {"user": CLONE_NEWUSER, "mount": CLONE_NEWNS, "ipc": CLONE_NEWIPC, "pid": CLONE_NEWPID,
              "net": CLONE_NEWNET, "uts": CLONE_NEWUTS, "cgroup": CLONE_NEWCGROUP}


def unshare_namespaces(skip: frozenset = frozenset()) -> tuple[tuple[str, ...], str | None]:
    """Enter new user, mount, IPC, PID, network, UTS and cgroup namespaces; the next fork
    is the PID namespace's init. When that init exits, the kernel kills every process left
    in the namespace (even one that called setsid()) and the IPC namespace, with any shared
    memory made in it, is gone. Without user namespaces (root where they are disabled) the
    others alone. Returns the namespaces entered and, when some are missing, why."""
    if not sys.platform.startswith("linux"):
        return (), "process namespaces need Linux: processes the worker starts may outlive it"
    if "namespaces" in skip:
        return (), "the namespaces were left out (a test or a benchmark)"
    lib = libc()
    ids = os.geteuid(), os.getegid()  # once in the new user namespace, they read as unmapped
    wanted = [n for n in NAMESPACES if n != "mount" or "mounts" not in skip]
    for names in (wanted, [n for n in wanted if n != "cgroup"], [n for n in wanted if n != "user"],
                  [n for n in wanted if n not in ("user", "cgroup")]):
        flags = functools.reduce(lambda a, n: a | NAMESPACES[n], names, 0)
        if lib.unshare(ctypes.c_int(flags)) == 0:
            if "user" in names:
                problem = _map_ids(*ids)
                if problem:
                    return tuple(n for n in names if n != "mount"), problem
            return tuple(names), None
    return (), (f"unshare() of namespaces failed (errno {ctypes.get_errno()}): the worker shares the "
                "machine's processes, network, IPC and mounts, and processes it starts may outlive it")


def _map_ids(uid: int, gid: int) -> str | None:
    """Map the grader's own uid and gid into the new user namespace (files the worker makes
    in its folder need an owner); everything else stays unmapped."""
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    except OSError as exc:
        return (f"the user namespace's ids could not be mapped ({exc.strerror}): the worker's "
                "filesystem view is not built, so course files' metadata can be changed")
    return None


SYSCTLS = {"user": {"/proc/sys/user/max_user_namespaces": 0},
           "ipc": {"/proc/sys/kernel/shmall": 0, "/proc/sys/kernel/msgmni": 0,
                   "/proc/sys/fs/mqueue/queues_max": 0}}


def limit_namespaces(namespaces: tuple[str, ...]) -> None:
    """Inside the worker's own namespaces only: no nested user namespace, no System V shared
    memory or message queues, no POSIX message queues (a second line behind the system call
    filter, for machines without it), and a host name that is not the machine's."""
    if "user" not in namespaces:
        return  # these settings would be the machine's
    for ns, settings in SYSCTLS.items():
        if ns in namespaces:
            for path, value in settings.items():
                try:
                    with open(path, "w") as f:
                        f.write(str(value))
                except OSError:
                    pass
    if "uts" in namespaces:
        libc().sethostname(b"sandbox", ctypes.c_size_t(7))


def new_session_keyring() -> None:
    """Leave the grader's session keyring for a new, empty one (the filter also refuses
    every keyring call; this covers machines without it)."""
    number = seccomp.syscall_number("keyctl")
    if number is not None:
        libc().syscall(number, KEYCTL_JOIN_SESSION_KEYRING, None)


def drop_capabilities() -> None:
    """No capability left, none to regain: what the worker could do as root of its user
    namespace (remount, unmount its covers) is gone before student code runs."""
    lib = libc()
    for cap in range(64):
        if lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    lib.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    lib.capset(ctypes.byref(header), ctypes.byref(data))


def counts_processes_per_namespace(namespaces: tuple[str, ...]) -> bool:
    """Whether RLIMIT_NPROC counts the worker's processes alone: in its own user namespace,
    from Linux 5.14 (before, it counts every process of the user on the machine)."""
    try:
        release = tuple(int(x) for x in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return "user" in namespaces and release >= (5, 14)


def system_call_filter() -> str | None:
    """The seccomp filter (grader.sandbox.seccomp); returns why it is not in force, if so."""
    if not sys.platform.startswith("linux"):
        return None  # the other layers' warnings already say what is missing
    lib = libc()
    if lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(NO_NEW_PRIVS) failed (errno {ctypes.get_errno()}): no system call filter"
    return seccomp.install(lib)


def reuse_freed_memory() -> None:
    """Keep freed memory in the process for the next allocation (glibc's malloc).

    By default glibc gives blocks of a few MB back to the kernel when they are freed, so
    each call's arrays (and each reply's buffers) fault in fresh pages, about 1000 page
    faults per 4 MB; that cost more than copying the data. Big blocks (over 32 MB) are
    still returned. Elsewhere (macOS, musl) this does nothing."""
    if sys.platform.startswith("linux"):
        try:
            lib = libc()
            lib.mallopt(M_MMAP_THRESHOLD, 32 << 20)
            lib.mallopt(M_TRIM_THRESHOLD, 128 << 20)
        except AttributeError:  # not glibc
            pass


def become_subreaper() -> None:
    """Orphaned workers are re-parented to this process, which can then reap them."""
    if sys.platform.startswith("linux"):
        libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def set_limits(*, memory_mb: int, cpu_seconds: float, file_mb: int = 64,
               processes: int | None = None) -> list[str]:
    """Address space (on top of what is mapped now), CPU time, file size, open files, POSIX
    message queues and, where given, processes (counted per user namespace from Linux 5.14;
    the kernel does not apply it to root). Returns problems."""
    problems = []
    base = _mapped_bytes()
    wanted = [
        (resource.RLIMIT_AS, base + memory_mb * 2**20, "memory"),
        (resource.RLIMIT_CPU, int(cpu_seconds) + 1, "CPU time"),
        (resource.RLIMIT_FSIZE, file_mb * 2**20, "file size"),
        (resource.RLIMIT_CORE, 0, "core dumps"),
        (resource.RLIMIT_NOFILE, OPEN_FILES, "open files"),
        (getattr(resource, "RLIMIT_MSGQUEUE", None), 0, "message queues"),
        (getattr(resource, "RLIMIT_NPROC", None) if processes else None, processes, "processes"),
    ]
    for which, value, what in wanted:
        if which is None:
            continue
        try:
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 1))
        except (ValueError, OSError) as exc:
            problems.append(f"could not limit {what}: {exc}")
    return problems


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def first_to_go_when_memory_runs_out() -> None:
    """Should the machine (or the worker's group) run out of memory, the kernel ends the
    worker's processes first, never the grader or the zygote."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass


def close_other_fds(keep: set[int]) -> None:
    """Close every inherited descriptor but `keep` (the channel) and 0, 1, 2."""
    top = os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 1024
    start = 3
    for fd in sorted(keep | {top}):
        if fd >= start:
            os.closerange(start, fd)
            start = fd + 1
