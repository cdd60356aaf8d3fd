"""A seccomp filter for the worker: the system calls that reach what the other layers miss.

Landlock does not cover connecting to a pathname UNIX socket, and RLIMIT_AS does not see
memory held in a memfd or in System V shared memory or message queues. Namespaces and
read-only mounts are undone by a process that can mount, unshare or setns. So the worker
gets, as errors (never a kill, so a student sees a PermissionError it can read):

- socket(AF_UNIX): EACCES; io_uring (which can open sockets without socket(2)): ENOSYS;
- keyctl, add_key, request_key (the grader's keyrings): EPERM;
- memfd_create, memfd_secret, shmget, msgget, mq_open: EPERM;
- mount and the new mount API, umount2, pivot_root, chroot, unshare, setns, clone with
  any namespace flag: EPERM; clone3 (whose flags a filter cannot read): ENOSYS, so the C
  library falls back to clone;
- system calls of another ABI (x32, or 32-bit on a 64-bit kernel): ENOSYS/EPERM.

The filter is a classic BPF program built here with ctypes, for x86_64 and aarch64 (the
system call numbers differ). Elsewhere it is not installed and the worker says so.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
# BPF opcodes
LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06
# offsets in struct seccomp_data
NR, ARCH, ARG0 = 0, 4, 16
AF_UNIX = 1
CLONE_NEW_ANY = 0x7E020000  # NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
X32_BIT = 0x40000000

# The same on every architecture (numbers from 403 on are shared).
_COMMON = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
           "fspick": 433, "clone3": 435, "mount_setattr": 442, "memfd_secret": 447,
           "open_tree_attr": 467, "io_uring_setup": 425, "io_uring_enter": 426,
           "io_uring_register": 427}
_ARCHES = {
    # machine: (AUDIT_ARCH_*, numbers of the calls whose number differs by architecture)
    "x86_64": (0xC000003E, {"socket": 41, "clone": 56, "keyctl": 250, "add_key": 248,
                            "request_key": 249, "memfd_create": 319, "shmget": 29, "msgget": 68,
                            "mq_open": 240, "mount": 165, "umount2": 166, "pivot_root": 155,
                            "chroot": 161, "unshare": 272, "setns": 308}),
    "aarch64": (0xC00000B7, {"socket": 198, "clone": 220, "keyctl": 219, "add_key": 217,
                             "request_key": 218, "memfd_create": 279, "shmget": 194, "msgget": 186,
                             "mq_open": 180, "mount": 40, "umount2": 39, "pivot_root": 41,
                             "chroot": 51, "unshare": 97, "setns": 268}),
}
_ARCHES["arm64"] = _ARCHES["aarch64"]
_ARCHES["amd64"] = _ARCHES["x86_64"]

DENIED = ("keyctl", "add_key", "request_key", "memfd_create", "memfd_secret", "shmget", "msgget",
          "mq_open", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree",
          "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "open_tree_attr")
NOT_THERE = ("clone3", "io_uring_setup", "io_uring_enter", "io_uring_register")


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def program(machine: str | None = None) -> list[tuple[int, int, int, int]] | None:
    """The filter as (code, jt, jf, k) instructions, or None on an architecture it does not know."""
    arch = _ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, numbers = arch
    nr = {**_COMMON, **numbers}
    deny = lambda e: (RET_K, 0, 0, RET_ERRNO | e)  # noqa: E731
    out = [(LD_W_ABS, 0, 0, ARCH), (JEQ_K, 1, 0, audit_arch), deny(errno.ENOSYS),
           (LD_W_ABS, 0, 0, NR)]
    # x32 system calls have this bit set and the same AUDIT_ARCH: refuse them all
    if audit_arch == 0xC000003E:
        out += [(JSET_K, 0, 1, X32_BIT), deny(errno.ENOSYS)]
    for name in DENIED:
        out += [(JEQ_K, 0, 1, nr[name]), deny(errno.EPERM)]
    for name in NOT_THERE:
        out += [(JEQ_K, 0, 1, nr[name]), deny(errno.ENOSYS)]
    # socket(AF_UNIX, ...): the domain is the first argument (socketpair stays: it reaches
    # nothing outside the worker, and asyncio needs it)
    out += [(JEQ_K, 0, 4, nr["socket"]), (LD_W_ABS, 0, 0, ARG0), (JEQ_K, 0, 1, AF_UNIX),
            deny(errno.EACCES), (LD_W_ABS, 0, 0, NR)]
    # clone(flags, ...) with a namespace flag
    out += [(JEQ_K, 0, 3, nr["clone"]), (LD_W_ABS, 0, 0, ARG0), (JSET_K, 0, 1, CLONE_NEW_ANY),
            deny(errno.EPERM)]
    out.append((RET_K, 0, 0, RET_ALLOW))
    return out


def syscall_number(name: str, machine: str | None = None) -> int | None:
    """The number of a system call this module knows, on this machine's architecture."""
    arch = _ARCHES.get(machine or platform.machine())
    return None if arch is None else {**_COMMON, **arch[1]}.get(name)


def install(libc) -> str | None:
    """Install the filter on this process (and every process it starts). Needs
    no_new_privs set first (Landlock sets it). Returns None, or why it is not in force."""
    instructions = program()
    if instructions is None:
        return (f"no system call filter for {platform.machine()}: the worker can connect to the "
                "machine's UNIX sockets and hold memory in shared memory outside its limit")
    filters = (_Filter * len(instructions))(*(_Filter(*i) for i in instructions))
    prog = _Program(len(instructions), filters)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        return (f"the system call filter could not be installed (errno {ctypes.get_errno()}): the "
                "worker can connect to the machine's UNIX sockets and hold memory in shared memory")
    return None


def packed(machine: str | None = None) -> bytes:
    """The program as the kernel reads it (for tests: a stable, inspectable form)."""
    return b"".join(struct.pack("=HBBI", *i) for i in program(machine) or ())
