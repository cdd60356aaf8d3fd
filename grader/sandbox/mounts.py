"""The worker's view of the filesystem, built in its own mount namespace.

Landlock decides what the worker may open, but not what it may do to a file's metadata
(chmod, utime, setxattr, chown) nor whether it may connect to a UNIX socket it can name.
So, in the worker's mount namespace (nothing here is seen by the host):

- every mount is made read-only (recursively), so no file outside the worker's folder can
  be changed in any way: data or metadata fail with EROFS;
- /tmp, /var/tmp, /run, /dev/shm and /dev/mqueue are covered with empty read-only tmpfs
  (the sockets of the machine's services live there, and other graders' folders);
- /proc is a fresh mount for the worker's PID namespace: it shows the worker's processes only;
- the worker's own folder is a tmpfs of bounded size, holding a copy of the module: the
  student can write there, up to the bound in total, and nothing of it outlives the worker.

Each step that the kernel refuses is reported as a sentence saying which guarantee is off.
"""

from __future__ import annotations

import ctypes
import os
import re

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 0x1, 0x2
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE = 442, -100, 0x8000
HIDDEN = ("/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm", "/dev/mqueue")
EMPTY = b"size=64k,nr_inodes=64,mode=755"


class SetupError(Exception):
    """The worker's folder could not be made: the machine's failure, not the student's."""


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def build(libc, *, private: str, folder_mb: int, readable: tuple[str, ...],
          own_pid_namespace: bool) -> list[str]:
    """Build the view (the caller is in a new mount namespace with CAP_SYS_ADMIN there).
    Returns the guarantees that are off; raises SetupError when the folder cannot be made.
    The files the grader wrote into `private` (the module, or a notebook's cells) are
    carried into the worker's own bounded folder."""
    sources = {}
    for name in os.listdir(private):  # before the folder is covered by its tmpfs
        with open(os.path.join(private, name), "rb") as f:
            sources[name] = f.read()
    if _mount(libc, None, "/", None, MS_REC | MS_PRIVATE) != 0:
        return [f"the worker's mounts could not be made private (errno {ctypes.get_errno()}): course "
                "files' permissions and times can be changed, and the machine's UNIX sockets reached"]
    problems = []
    failed = _all_read_only(libc)
    if failed:
        problems.append(f"{len(failed)} mounts could not be made read-only ({', '.join(failed[:3])}): "
                        "files there can have their permissions and times changed")
    problems += _fresh_proc(libc, own_pid_namespace)
    covered = _cover(libc, private, readable)
    os.makedirs(private, exist_ok=True)  # inside a cover, the folder is made anew
    options = f"size={folder_mb}m,nr_inodes=4096,mode=700".encode()
    if _mount(libc, b"tmpfs", private, b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        raise SetupError(f"the worker's folder could not be mounted (errno {ctypes.get_errno()})")
    try:
        for name, source in sources.items():
            with open(os.path.join(private, name), "wb") as f:
                f.write(source)
    except OSError as exc:
        raise SetupError(f"the module could not be copied into the worker's folder ({exc})") from None
    for path in covered:
        if _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC):
            problems.append(f"{path} could not be made read-only in the worker")
    return problems


def _mount(libc, source, target, fstype, flags, data=None) -> int:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    return libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def _all_read_only(libc) -> list[str]:
    """Every mount read-only, at once (mount_setattr, Linux 5.12+) or one by one. Returns
    the mount points that stay writable."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
    if libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(attr),
                    ctypes.c_size_t(ctypes.sizeof(attr))) == 0:
        return []
    return remount_each_read_only(libc)


def remount_each_read_only(libc) -> list[str]:
    """The old way: a read-only bind remount of each mount point, keeping the flags a
    remount may not drop (nosuid, nodev, noexec, atime: locked in a user namespace)."""
    failed = []
    for point, flags in _mount_points():
        if _mount(libc, None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags) != 0:
            failed.append(point)
    return failed


_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
          "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}


def mountinfo() -> list[tuple[str, str, str, str]]:
    """This process's mounts from /proc/self/mountinfo: (mount point, mount options,
    file system type, super options) each, the point unescaped (a space comes as \\040)."""
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 6 and len(tail) >= 3:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])
            out.append((point, fields[5], tail[0], tail[2]))
    return out


def _mount_points() -> list[tuple[str, int]]:
    """Each mount point, with the flags of its options that a remount must keep."""
    out = []
    for point, options, _, _ in mountinfo():
        flags = 0
        for option in options.split(","):
            flags |= _FLAGS.get(option, 0)
        out.append((point, flags))
    return out


def _fresh_proc(libc, own_pid_namespace: bool) -> list[str]:
    """/proc for the worker's own PID namespace, or, failing that, an empty one."""
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY
    if own_pid_namespace and _mount(libc, b"proc", "/proc", b"proc", flags) == 0:
        return []
    if _mount(libc, b"tmpfs", "/proc", b"tmpfs", flags, EMPTY) == 0:
        return []
    return ["/proc could not be replaced in the worker: it shows the machine's processes"]


def _cover(libc, private: str, readable: tuple[str, ...]) -> list[str]:
    """Empty tmpfs over the folders where sockets and other graders' files live, except a
    folder that holds something the worker must read (a Python installed under /tmp)."""
    covered = []
    for path in HIDDEN:
        if os.path.islink(path) or not os.path.isdir(path):
            continue
        if any(r == path or r.startswith(path + "/") for r in readable):
            continue
        if _mount(libc, b"tmpfs", path, b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, EMPTY) == 0:
            covered.append(path)
    return covered
