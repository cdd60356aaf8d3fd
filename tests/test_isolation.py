"""Each layer of the worker's isolation, seen from inside a real worker.

The submission is a probe: its dropout_forward runs the code it is given (as `x`) and
returns what that code put in `result`. Each guarantee is checked with every layer on,
and, where a second layer stands behind the first, with the first left out (`leave_out`),
so each layer is shown to hold on its own. A layer this machine does not offer is skipped
with the reason (the grader warns about it: see test_a_missing_layer_is_a_warning).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import platform
import socket
import sys
import tempfile
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from grader.course import load_course
from grader.errors import SandboxFailure
from grader.sandbox import cgroups, channel, isolate, mounts, proxy, seccomp
from grader.sandbox.proxy import StudentError, Submission
from tests.conftest import ROOT, copy_course

pytestmark = pytest.mark.skipif(not platform.system() == "Linux", reason="the isolation layers are Linux's")

PROBE = '''
def dropout_forward(x, p, train, rng):
    namespace = {}
    exec(x, namespace)
    return namespace.get("result"), None


def dropout_backward(dout, cache):
    return dout


def vanilla_dropout_forward(x, p, train, rng):
    return x, None


def vanilla_dropout_backward(dout, cache):
    return dout
'''

PLAIN = '''
import os
def attempt(f):
    """What trying f() gave: its value, or the error's name and errno."""
    try:
        return ["ok", repr(f())]
    except OSError as exc:
        return [type(exc).__name__, exc.errno]
'''


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    return copy_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def exercise(course_dir):
    return load_course(course_dir).exercise("exercise3")


@pytest.fixture(scope="module")
def probe_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("probe") / "dropout.py"
    path.write_text(PROBE)
    return path


def run(student: Submission, code: str):
    """Run `code` in the worker; what it left in `result`."""
    return student.dropout_forward(PLAIN + textwrap.dedent(code), 0.5, True, np.random.default_rng(0))[0]


@pytest.fixture
def probe(exercise, probe_file):
    """A probe submission with every layer but those named."""
    opened = []

    def make(*leave_out: str, exercise=exercise) -> Submission:
        student = Submission(exercise, probe_file, leave_out=frozenset(leave_out))
        opened.append(student)
        run(student, "result = None")  # started: warnings are the next test's concern
        missing = [p for p in student.isolation_problems if "left out" not in p and "control group" not in p]
        if missing:  # what this machine does not offer is a warning (tested below), not a failure here
            pytest.skip(f"a layer is missing on this machine: {missing[0]}")
        return student

    yield make
    for student in opened:
        student.close()


def metadata(*paths: Path) -> list:
    return [(str(p), s.st_mode, s.st_uid, s.st_gid, s.st_mtime_ns, sorted(os.listxattr(p)))
            for p in paths for s in [os.stat(p)]]


# ------------------------------------------------------------------ files


@pytest.mark.parametrize("leave_out", [(), ("landlock",)])
def test_nothing_outside_the_workers_folder_can_be_changed_data_or_metadata(probe, leave_out):
    """Landlock does not cover chmod, utime, chown, xattrs: the read-only mounts do, alone too.
    The targets are the repository's own course files (outside /tmp, which the worker sees
    empty), and every attempt would change nothing if it succeeded (the same mode, times and
    owner; replacing an attribute that is not there; renaming a file to itself)."""
    if any(str(ROOT).startswith(hidden + "/") for hidden in mounts.HIDDEN):
        pytest.skip(f"the repository is under a folder the worker sees empty ({ROOT})")
    targets = [ROOT / "exercises" / "exercise3" / "test_public.py", ROOT / "course.yml",
               ROOT / "solutions" / "exercise3", ROOT]
    before = metadata(*targets)
    result = run(probe(*leave_out), f"""
        result = []
        for path in {[str(t) for t in targets]}:
            s = os.stat(path)
            result += [attempt(lambda: os.chmod(path, s.st_mode)),
                       attempt(lambda: os.utime(path, ns=(s.st_atime_ns, s.st_mtime_ns))),
                       attempt(lambda: os.chown(path, s.st_uid, s.st_gid)),
                       attempt(lambda: os.setxattr(path, "user.dl-grader-probe", b"1", os.XATTR_REPLACE)),
                       attempt(lambda: os.rename(path, path))]
        result.append(attempt(lambda: open({str(targets[0])!r}, "a").close()))
    """)
    assert all(outcome != "ok" for outcome, _ in result), result
    if leave_out:  # the mounts alone: every one of them is a read-only file system
        assert {code for _, code in result} == {errno.EROFS}, result
    assert metadata(*targets) == before


def test_kernels_without_mount_setattr_get_every_mount_read_only_one_by_one():
    """Before Linux 5.12 there is no recursive mount_setattr: each mount is remounted."""
    if any(str(ROOT).startswith(hidden + "/") for hidden in mounts.HIDDEN):
        pytest.skip(f"the repository is under a folder the worker sees empty ({ROOT})")
    ids, readme = (os.geteuid(), os.getegid()), ROOT / "README.md"
    pid = os.fork()
    if pid == 0:  # a child in its own user and mount namespaces, as the middle process makes them
        code = 1
        try:
            libc = isolate.libc()
            if libc.unshare(isolate.CLONE_NEWUSER | isolate.CLONE_NEWNS) != 0:
                code = 3
            elif isolate._map_ids(*ids) is None and \
                    libc.mount(None, b"/", None, mounts.MS_REC | mounts.MS_PRIVATE, None) == 0:
                failed = mounts.remount_each_read_only(libc)
                try:
                    os.chmod(readme, os.stat(readme).st_mode)
                except OSError as exc:
                    code = 0 if exc.errno == errno.EROFS and not failed else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WEXITSTATUS(status) == 3:
        pytest.skip("no user namespaces here")
    assert os.WEXITSTATUS(status) == 0


def test_the_workers_folder_is_bounded_in_total_and_gone_with_the_worker(probe):
    student = probe()
    host_folder = sorted(os.listdir(student.private))
    result = run(student, """
        result = [attempt(lambda: open(f"fill{i}", "wb").write(b"x" * (40 << 20))) for i in range(3)]
        result.append(sorted(os.listdir(".")))
    """)
    assert result[0][0] == "ok" and result[1] == ["OSError", errno.ENOSPC], result
    assert "fill0" in result[-1]
    assert sorted(os.listdir(student.private)) == host_folder  # the grader's temporary folder: untouched
    with pytest.raises(StudentError):
        run(student, "os._exit(1)")
    assert run(student, "result = sorted(os.listdir('.'))") == host_folder  # a new worker: a new folder


def test_a_worker_that_cannot_set_itself_up_is_the_machines_failure(exercise, tmp_path):
    """A worker that cannot set itself up says so before any student code runs: a failed
    grading (retried, reported), not a zero. (Made to fail here with a module larger than
    the folder; the grader's intake refuses such files long before.)"""
    from grader.submission import StudentCode, Unit

    big = StudentCode(path=tmp_path / "dropout.py",  # past the intake's caps, as a test may
                      units=(Unit("dropout.py", (PROBE + "#" * (65 << 20) + "\n").encode()),))
    with Submission(exercise, big) as student, pytest.raises(SandboxFailure, match="worker's folder"):
        run(student, "result = 1")


# ------------------------------------------------------------------ IPC and memory


def _libc():
    return ctypes.CDLL(None, use_errno=True)


@pytest.fixture
def host_segment():
    """A System V shared memory segment of the grader's, with a known key."""
    libc, key = _libc(), 0x6C677231
    shmid = libc.shmget(key, 4096, 0o1600)
    if shmid < 0:
        pytest.skip(f"no System V shared memory here (errno {ctypes.get_errno()})")
    yield key
    libc.shmctl(shmid, 0, None)  # IPC_RMID


def _host_segments() -> set[str]:
    with open("/proc/sysvipc/shm") as f:
        return {line.split()[0] for line in f.readlines()[1:]}


@pytest.mark.parametrize("leave_out", [(), ("seccomp",)])
def test_shared_memory_is_refused_private_and_gone_with_the_worker(probe, host_segment, leave_out):
    """The filter refuses SysV shared memory, memfd and POSIX message queues; without it, the
    worker's own IPC namespace hides the grader's segments and has no room for new ones."""
    before = _host_segments()
    student = probe(*leave_out)
    result = run(student, f"""
        import ctypes, mmap
        libc = ctypes.CDLL(None, use_errno=True)
        def shm(key, size, flags):
            r = libc.shmget(key, size, flags)
            if r < 0:
                raise OSError(ctypes.get_errno(), "shmget")
            return r
        result = [attempt(lambda: shm({host_segment}, 0, 0)),        # the grader's segment
                  attempt(lambda: shm(0x4F574E44, 64 << 20, 0o1600)),  # a new one
                  attempt(lambda: os.memfd_create("hoard")),
                  attempt(lambda: open("/dev/shm/hoard", "wb").write(b"x"))]
    """)
    if leave_out:  # memfd is then bounded by the group's memory only
        result = result[:2] + result[3:]
        assert result[0][1] == errno.ENOENT  # another IPC namespace: the grader's key is not there
    assert all(outcome != "ok" for outcome, _ in result), result
    assert _host_segments() <= before  # nothing made in the worker is on the host


@pytest.fixture
def cgroup_or_skip():
    try:
        cgroups.Groups()
    except cgroups.Unavailable as exc:
        pytest.skip(f"no control group for workers on this machine: {exc}")


def test_memory_of_all_the_workers_processes_is_bounded_together(exercise, probe, cgroup_or_skip):
    """Each process is under RLIMIT_AS (400 MB here); four of them at 300 MB each are not
    under the group's limit (400 MB + the folder + 64 MB): at most one holds its memory."""
    small = dataclasses.replace(exercise, limits=dataclasses.replace(exercise.limits, memory_mb=400,
                                                                      call_seconds=100))
    student = probe(exercise=small)
    held = run(student, """
        import numpy as np, select, signal
        children, (r, w) = [], os.pipe()
        for i in range(4):
            pid = os.fork()
            if pid == 0:
                block = np.ones(300 * 2**20 // 8)  # touched: resident
                os.write(w, f"{i} ".encode())
                signal.pause()
            children.append(pid)
        reported, dead = set(), set()
        while len(reported | dead) < 4:  # until each child has its memory, or was killed
            if select.select([r], [], [], 0.05)[0]:
                reported |= {int(t) for t in os.read(r, 100).split()}
            dead |= {i for i, pid in enumerate(children) if i not in dead and os.waitpid(pid, os.WNOHANG)[0]}
        alive = [pid for i, pid in enumerate(children) if i not in dead and os.waitpid(pid, os.WNOHANG)[0] == 0]
        for pid in alive:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        result = len(alive)
    """)
    assert held <= 1


def test_a_worker_the_kernel_kills_for_memory_is_told_so(exercise, probe, cgroup_or_skip):
    small = dataclasses.replace(exercise, limits=dataclasses.replace(exercise.limits, memory_mb=400,
                                                                      call_seconds=100))
    student = probe(exercise=small)
    with pytest.raises(StudentError, match="killed: together its processes, shared memory and files used "
                                           "more than the memory limit of 400 MB") as raised:
        run(student, """
            import numpy as np, signal
            r, w = os.pipe()
            for _ in range(2):
                if os.fork() == 0:
                    block = np.ones(150 * 2**20 // 8)
                    os.write(w, b".")
                    signal.pause()
            os.read(r, 1), os.read(r, 1)  # both children hold 150 MB: now the largest is this one
            block = np.ones(350 * 2**20 // 8)
        """)
    assert "exit()" not in str(raised.value)  # not mistaken for a crash of the student's own
    assert run(student, "result = 3") == 3


def test_processes_are_bounded(probe, cgroup_or_skip):
    started = run(probe(), """
        import signal
        children = []
        for _ in range(1000):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                signal.pause()
            children.append(pid)
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        result = len(children)
    """)
    assert started < cgroups.PIDS_MAX


# ------------------------------------------------------------------ sockets, keyrings, processes


def _hideable_folder() -> str | None:
    """A folder the worker's view covers (where services keep their sockets) and that holds
    nothing the worker must read: where Python or the grader is installed under /tmp (a CI
    clone or venv there), /tmp stays visible and the filter alone keeps its sockets out."""
    import grader
    from grader.sandbox.mounts import HIDDEN

    installed = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(grader.__file__))]
    for folder in HIDDEN:
        if os.path.isdir(folder) and not os.path.islink(folder) and os.access(folder, os.W_OK) \
                and not any(p == folder or p.startswith(folder + "/") for p in installed):
            return folder
    return None


@pytest.fixture
def host_socket():
    """A listening UNIX socket of the grader's, where services keep theirs."""
    where = _hideable_folder()
    if where is None:
        pytest.skip("every folder the worker's view hides holds Python or the grader here")
    folder = tempfile.mkdtemp(dir=where, prefix="dl-grader-sock-")
    server = socket.socket(socket.AF_UNIX)
    server.bind(os.path.join(folder, "service.sock"))
    server.listen(8)
    server.setblocking(False)
    yield server.getsockname()
    with pytest.raises(BlockingIOError):
        server.accept()  # nobody connected
    server.close()
    os.unlink(os.path.join(folder, "service.sock"))
    os.rmdir(folder)


@pytest.mark.parametrize("leave_out, refused_with", [((), None), (("mounts",), errno.EACCES),
                                                     (("seccomp",), errno.ENOENT)])
def test_the_machines_unix_sockets_are_out_of_reach(probe, host_socket, leave_out, refused_with):
    """The filter refuses AF_UNIX sockets (EACCES); without it, /tmp and /run are empty (ENOENT)."""
    result = run(probe(*leave_out), f"""
        import socket
        def connect():
            s = socket.socket(socket.AF_UNIX)
            s.connect({host_socket!r})
            s.sendall(b"hello from a worker")
        result = attempt(connect)
    """)
    assert result[0] != "ok", result
    if refused_with:
        assert result[1] == refused_with, result


@pytest.fixture
def grader_key():
    """A key in a new session keyring of this process (inherited by the zygotes it starts)."""
    libc, keyctl, add_key = _libc(), seccomp.syscall_number("keyctl"), seccomp.syscall_number("add_key")
    if keyctl is None or libc.syscall(keyctl, isolate.KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
        pytest.skip("no keyrings here")
    key = libc.syscall(add_key, b"user", b"dl-grader-test", b"course secret", 13, -3)  # @s
    if key < 0:
        pytest.skip(f"add_key failed (errno {ctypes.get_errno()})")
    yield key
    libc.syscall(keyctl, 3, key)  # KEYCTL_REVOKE


@pytest.mark.parametrize("leave_out", [(), ("seccomp",)])
def test_the_graders_keyrings_are_out_of_reach(probe, grader_key, leave_out):
    result = run(probe(*leave_out), f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        def call(*args):
            buf = ctypes.create_string_buffer(256)
            r = libc.syscall({seccomp.syscall_number("keyctl")}, *args, buf, 256) if args[0] == 11 else \\
                libc.syscall({seccomp.syscall_number("request_key")}, *args)
            if r < 0:
                raise OSError(ctypes.get_errno(), "keyctl")
            return buf.raw[:r] if args[0] == 11 else r
        result = [attempt(lambda: call(11, {grader_key})),                   # KEYCTL_READ the key
                  attempt(lambda: call(b"user", b"dl-grader-test", None, 0))]  # search for it
    """)
    assert all(outcome != "ok" for outcome, _ in result), result


def test_proc_shows_the_workers_processes_only(probe):
    """Landlock keeps /proc closed; behind it, /proc is the worker's PID namespace's."""
    assert run(probe(), "result = attempt(lambda: os.listdir('/proc'))")[0] == "PermissionError"
    pids = run(probe("landlock"), """
        result = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    """)
    assert pids == [1], pids  # the worker is its namespace's init and alone
    status = dict(line.split(":\t", 1) for line in run(probe("landlock"), """
        result = open("/proc/self/status").read().splitlines()
    """))
    assert {status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0" * 16}
    assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2"
    assert run(probe("landlock"), "result = open('/proc/self/oom_score_adj').read()").strip() == "1000"


def test_nothing_of_the_graders_environment_or_course_path_is_visible(probe, course_dir, monkeypatch):
    """The worker is never told where the course is: no string in its memory names it (the
    worker looks for strings under the folder that holds the course, not for the course)."""
    monkeypatch.setenv("DL_GRADER_TOKEN", "token-in-the-graders-environment")
    student = probe()
    seen = run(student, f"""
        import gc, sys
        strings = {{v for o in gc.get_objects() if type(o) in (dict, list, tuple)
                   for v in (o.values() if type(o) is dict else o) if type(v) is str}}
        result = {{"environ": dict(os.environ), "argv": sys.argv, "hostname": os.uname().nodename,
                  "strings": sorted(s for s in strings if {str(course_dir.parent)!r} in s)}}
    """)
    assert set(seen["environ"]) <= {"LANG", "LC_ALL", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                    "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "TMPDIR", "HOME", "PATH"}
    assert seen["environ"]["HOME"] == seen["environ"]["TMPDIR"] == student.private
    assert seen["hostname"] == "sandbox"
    assert not [s for s in seen["strings"] if str(course_dir) in s]


@pytest.mark.parametrize("leave_out", [(), ("seccomp",)])
def test_the_worker_cannot_undo_its_confinement(probe, leave_out):
    """No capability is left and nested user namespaces are off: without the filter too,
    nothing can be remounted, unmounted, or mounted anew in a namespace of its own."""
    result = run(probe(*leave_out), f"""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        def check(r):
            if r != 0:
                raise OSError(ctypes.get_errno(), "refused")
        folder = os.getcwd()
        result = [attempt(lambda: check(libc.mount(None, b"/", None, 32 | 4096, None))),      # remount / rw
                  attempt(lambda: check(libc.umount2(b"/tmp", 2))),                           # uncover /tmp
                  attempt(lambda: check(libc.umount2(folder.encode(), 2))),                   # the folder
                  attempt(lambda: check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, b"size=8g"))),
                  attempt(lambda: check(libc.unshare({isolate.CLONE_NEWUSER | isolate.CLONE_NEWNS}))),
                  attempt(lambda: check(libc.unshare({isolate.CLONE_NEWUSER})))]
    """)
    assert all(outcome != "ok" for outcome, _ in result), result


# ------------------------------------------------------------------ what the worker sends back


FORGE = """
import socket, struct, json
def forge(header, buffers=()):
    head = json.dumps(header).encode()
    frame = struct.pack("!II", len(head), len(buffers)) + head
    for b in buffers:
        frame += struct.pack("!Q", len(b)) + b
    claim(len(frame), frame)


def claim(size, frame=b""):
    for fd in range(3, 64):
        try:
            socket.socket(fileno=fd).sendall(struct.pack("!Q", size) + frame)
        except OSError:
            pass
"""


@pytest.mark.parametrize("code, words", [
    ("import numpy as np\nresult = np.zeros(600 * 2**20 // 8)", "the result is 600 MB; a result may hold at most 64 MB"),
    ("result = list(range(3_000_000))", "too many values to send back"),
    (FORGE + "claim(600 << 20)", "returned 600 MB; a result may hold at most 64 MB"),
    (FORGE + "forge(['l', *range(3_000_000)])", "returned too many values"),
    (FORGE + "forge(['a', '<' + 'f' * (16 << 20), [1], 0], [b'\\0' * 8])", "returned too many values"),
    (FORGE + "forge(['a', '<' + 'f' * 500_000, [1], 0], [b'\\0' * 8])", "is not a numeric dtype"),
    (FORGE + "forge(['a', '<f8', [1] * 100_000, 0], [b'\\0' * 8])", "shape must be a list of at most 32"),
], ids=["600MB_array", "3M_item_list", "forged_600MB", "forged_3M_items", "forged_16MB_dtype",
        "forged_500KB_dtype", "forged_100k_dims"])
def test_large_or_forged_replies_are_refused_before_they_are_read(probe, code, words):
    student = probe()
    tracemalloc.start()
    try:
        with pytest.raises(StudentError) as raised:
            run(student, code)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words in str(raised.value) and len(str(raised.value)) < 400, str(raised.value)
    assert peak < 16 << 20, f"the grader's process took {peak >> 20} MB for a refused reply"
    assert run(student, "result = 7") == 7  # a new worker, the submission goes on


def test_the_replies_of_a_submission_are_bounded_in_total(exercise, probe_file, monkeypatch):
    monkeypatch.setattr(proxy, "SUBMISSION_REPLIES_MB", 16)
    with Submission(exercise, probe_file) as student:
        for _ in range(3):
            assert run(student, "import numpy as np\nresult = np.ones(2**19)").shape == (2**19,)  # 4 MB
        for _ in range(2):  # over the total: refused, and so is everything after
            with pytest.raises(StudentError, match="more than 16 MB of results in all"):
                run(student, "import numpy as np\nresult = np.ones(2**19)")


def test_a_refused_dtype_costs_nothing_to_refuse():
    header = ["a", "<" + "f" * 500_000, [1], 0]
    head = channel.json.dumps(header).encode()
    frame = channel.struct.pack("!II", len(head), 1) + head + channel.struct.pack("!Q", 8) + b"\0" * 8
    with pytest.raises(channel.ProtocolError) as raised:
        channel.decode(frame)
    assert len(str(raised.value)) < 100
    assert set(channel.DTYPES.values()) >= {np.dtype(t) for t in ("f8", "f4", "i8", "u1", "?", "c16")}
    assert all(d.kind in channel.NUMERIC_KINDS and len(s) <= 4 for s, d in channel.DTYPES.items())


# ------------------------------------------------------------------ missing layers


def test_a_missing_layer_is_a_warning_that_says_which_guarantee_is_off(exercise, probe_file):
    with Submission(exercise, probe_file, leave_out=frozenset({"mounts"})) as student:
        run(student, "result = None")
        student._stop_worker()
        run(student, "result = None")  # a second worker: its problems are said once
    messages = student.warnings
    assert any("no mount namespace" in m and "permissions" in m for m in messages), messages
    assert len(messages) == len(set(messages)) and all(m.startswith("the sandbox is weaker here: ") for m in messages)


def test_the_filter_is_a_program_for_each_known_architecture():
    for machine in ("x86_64", "aarch64"):
        program = seccomp.program(machine)
        assert program[-1] == (seccomp.RET_K, 0, 0, seccomp.RET_ALLOW)
        assert len(program) < 256
        for i, (code, jt, jf, k) in enumerate(program):  # every jump lands inside the program
            if code & 0x07 == 0x05:  # BPF_JMP
                assert i + 1 + max(jt, jf) < len(program)
    assert seccomp.program("riscv-unknown") is None


# ------------------------------------------------------------------ the machine's failures


def test_a_full_temporary_folder_is_a_failed_grading_retried_and_reported_never_a_zero(course_dir, monkeypatch):
    """The grader's own write fails (ENOSPC): the grading is retried; when the retry fails
    too, the grading is reported as failed (a batch row's error, exit 2 alone), not scored."""
    from grader.grade import grade, grade_each

    course = load_course(course_dir)
    reference = course_dir / "solutions" / "exercise3" / "dropout.py"
    real_write, failures = proxy.Submission._write_units, []

    def write_units(submission):  # the grader writes the student's code into the worker's folder
        if len(failures) < failing[0]:
            failures.append(submission)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(submission)

    monkeypatch.setattr(proxy.Submission, "_write_units", write_units)
    failing, outcomes = [1], []
    grade_each(course, "exercise3", [reference], lambda _, r: outcomes.append(r), retries=1)
    assert len(failures) == 1 and outcomes[0].score == outcomes[0].max_score  # the retry graded it
    failing[0] = 10**6  # the disk stays full
    grade_each(course, "exercise3", [reference], lambda _, r: outcomes.append(r), retries=1)
    assert isinstance(outcomes[1], SandboxFailure) and "No space left" in str(outcomes[1])
    with pytest.raises(SandboxFailure, match="free some space"):
        grade(course, "exercise3", reference)
