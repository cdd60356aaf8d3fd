"""Red team: student code that attacks the grader, and honest mistakes.

Every submission is the reference dropout module with one function (or the module's top)
replaced. Each is graded by the real CLI in a subprocess, with real sandboxed workers.
For every attack: the grader exits 0 with one valid JSON report; the score is no higher
than what the honest part earns (the reference with the attacked function left as a
stub); nothing outside the worker's temporary folder changes, data or metadata; no
process outlives the grading; nothing the worker made in shared memory is left on the
host; no host UNIX socket was reached; no line of the reference solution, and (for an
attack not told where the course is) not the course's path, reaches the report; and
every test that did not pass says what happened. A batch with hostile students grades
every honest classmate exactly as alone.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, copy_course

EXERCISE = "exercise3"
MODULE = "dropout.py"
LIMITS = """limits:
  call_seconds: 2
  submission_seconds: 30
  memory_mb: 400
  output_kb: 16
"""


SECRET = "SECRET-7f3a9c1e-only-in-instructor-files"


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """A copy of the course with tighter limits, and a secret planted in every instructor
    file (reference solution, hidden tests, course.yml) to detect any leak."""
    course = copy_course(tmp_path_factory.mktemp("course"), limits=LIMITS)
    for path in (course / "solutions" / EXERCISE / MODULE, course / "solutions" / EXERCISE / "test_hidden.py",
                 course / "course.yml"):
        path.write_text(path.read_text() + f"\n# {SECRET}\n")
    return course


def reference_source(course_dir: Path) -> str:
    """The reference module without the planted secret: the student's starting point."""
    return (course_dir / "solutions" / EXERCISE / MODULE).read_text().split(f"\n# {SECRET}")[0]


def replace_function(source: str, name: str, code: str) -> str:
    """The module with function `name` replaced by `code` (a whole def)."""
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = source.splitlines(keepends=True)
    return "".join(lines[:node.lineno - 1]) + textwrap.dedent(code).strip() + "\n" + "".join(lines[node.end_lineno:])


def stub(name: str, params: str) -> str:
    return f"def {name}({params}):\n    raise NotImplementedError\n"


SIGNATURES = {"dropout_forward": "x, p, train, rng", "dropout_backward": "dout, cache",
              "vanilla_dropout_forward": "x, p, train, rng", "vanilla_dropout_backward": "dout, cache"}


def build_submission(course_dir: Path, tmp: Path, target: str, code: str) -> Path:
    source = reference_source(course_dir)
    code = code.replace("COURSE", str(course_dir)).replace("GRADER", str(ROOT / "grader"))
    code = code.replace("TEST_PID", str(os.getpid())).replace("HOARD_KEY", str(HOARD_KEY))
    code = code.replace("HOARD_NAME", HOARD_NAME).replace("HOST_SOCKET", str(HOST_SOCKET))
    if target == "import":
        source = textwrap.dedent(code).strip() + "\n" + source
    else:
        source = replace_function(source, target, code)
    path = tmp / MODULE
    path.write_text(source)
    return path


def run_grade(course_dir: Path, submission: Path, *extra: str) -> subprocess.CompletedProcess:
    process = subprocess.Popen([sys.executable, "-m", "grader", EXERCISE, "--submission", str(submission),
                                "--course", str(course_dir), "--json", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), process.pid


def tree_digest(*folders: Path) -> str:
    """Every file's content, and every file's and folder's metadata (mode, owner, times
    of modification, extended attributes): what a student must not change in any way."""
    h = hashlib.sha256()
    for folder in folders:
        for path in [folder, *sorted(folder.rglob("*"))]:
            if "__pycache__" in path.parts:
                continue
            st = path.lstat()
            h.update(f"{path} {st.st_mode} {st.st_uid} {st.st_gid} {st.st_mtime_ns} "
                     f"{sorted(os.listxattr(path, follow_symlinks=False))}".encode())
            if path.is_file():
                h.update(path.read_bytes())
    return h.hexdigest()


def sandbox_processes(grader_pid: int) -> list[int]:
    """Processes started by one grader's sandbox: its zygote and everything forked from it
    (they keep the zygote's command line, which ends with the grader's pid)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"grader.sandbox.zygote" in b" ".join(argv) and str(grader_pid).encode() in argv:
                pids.append(int(proc.name))
    return pids


HOARD_KEY, HOARD_NAME = 0x44475248, f"dl-grader-hoard-{os.getpid()}"  # what a hoarding attack would leave
HOST_SOCKET = Path(f"/tmp/dl-grader-redteam-{os.getpid()}.sock")  # a service of the grader's machine


@pytest.fixture(scope="module")
def host_service():
    """A listening UNIX socket under /tmp, where the machine's services keep theirs."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(HOST_SOCKET))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()
    HOST_SOCKET.unlink()


def host_shared_memory() -> tuple[set, set]:
    """The host's System V segments, as (key, id) (a private segment's key is 0, so the id
    tells them apart), and the names in /dev/shm."""
    with open("/proc/sysvipc/shm") as f:
        segments = {(int(line.split()[0]), int(line.split()[1])) for line in f.readlines()[1:]}
    return segments, set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


WRONG = "def vanilla_dropout_forward(x, p, train, rng):\n    return x + 1.0, None\n"


@pytest.fixture(scope="module")
def honest_scores(course_dir):
    """What the honest part of an attack earns: the reference with the attacked function
    left as a stub, or replaced by the plainly wrong code an attack falls back to
    (whichever scores more). An attack at import leaves no honest part."""
    from grader.course import load_course
    from grader.grade import grade
    course = load_course(course_dir)
    out = {"import": 0.0}
    for name, params in SIGNATURES.items():
        tmp = course_dir / f"honest_{name}"
        tmp.mkdir(exist_ok=True)
        honest = [stub(name, params)] + ([WRONG] if name == "vanilla_dropout_forward" else [])
        scores = [grade(course, EXERCISE, build_submission(course_dir, tmp, name, code)).score
                  for code in honest]
        out[name], out["stub", name] = max(scores), scores[0]
    full = grade(course, EXERCISE, course_dir / "solutions" / EXERCISE / MODULE)
    assert full.score == full.max_score, "the reference must get full marks in the sandbox"
    out["full"] = full.score
    return out


# (id, target, code, expectation): the expectation, where given, is an outcome every test of
# the target must have and words one of their messages must contain. Attacks that fall back
# to plainly wrong code (x + 1) are held to the score bound alone.
ATTACKS = [
    ("sys_exit_at_import", "import", "import sys\nsys.exit(0)", ("error", "sys.exit|SystemExit")),
    ("os_exit_at_import", "import", "import os\nos._exit(3)", ("error", "exit status 3")),
    ("sys_exit_in_call", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import sys
            sys.exit(0)""", ("error|failed", "SystemExit")),
    ("os_exit_in_call", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import os
            os._exit(7)""", ("error", "exit status 7")),
    ("patch_numpy", "vanilla_dropout_forward", """
        import numpy as np, numpy.testing
        np.allclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        np.isfinite = lambda x: np.ones(np.shape(x), dtype=bool)
        numpy.testing.assert_allclose = lambda *a, **k: None
        def vanilla_dropout_forward(x, p, train, rng):
            return x + 1.0, None
        """, None),
    ("patch_builtins", "vanilla_dropout_forward", """
        import builtins
        builtins.isinstance = lambda *a: True
        builtins.len = lambda x: 2
        builtins.AssertionError = type("Never", (Exception,), {})
        def vanilla_dropout_forward(x, p, train, rng):
            return x + 1.0, None
        """, None),
    ("patch_grader_modules", "vanilla_dropout_forward", """
        import sys
        for name, mod in list(sys.modules.items()):
            if name.startswith("grader"):
                for attr in ("encode", "decode", "send_frame", "_args_after", "fail", "assert_close"):
                    if hasattr(mod, attr):
                        setattr(mod, attr, lambda *a, **k: None)
        def vanilla_dropout_forward(x, p, train, rng):
            return x + 1.0, None
        """, None),
    ("fake_report_on_stdout", "vanilla_dropout_forward", """
        import json, sys
        fake = {"schema_version": 1, "exercise": "exercise3", "score": 1000, "max_score": 1000, "tests": []}
        print(json.dumps(fake))
        sys.stdout.flush()
        print("Score: 1000 / 1000", file=sys.stderr)
        def vanilla_dropout_forward(x, p, train, rng):
            return x + 1.0, None
        """, None),
    ("flood_output", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import sys
            while True:
                sys.stdout.write("x" * 65536)
                sys.stderr.write("y" * 65536)""", ("timeout", "did not finish")),
    ("lying_eq", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            class Liar:
                def __eq__(self, other): return True
                def __ne__(self, other): return False
                def __array__(self, *a, **k): return x
                __hash__ = object.__hash__
            return Liar(), Liar()""", ("failed|error", "")),
    ("array_protocol_objects", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            class Sneaky:
                def __array_ufunc__(self, *a, **k): return True
                def __array_function__(self, *a, **k): return True
                def __reduce__(self): return (print, ("pwned",))
            return Sneaky(), Sneaky()""", ("failed|error", "")),
    ("ndarray_subclass", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import numpy as np
            class Always(np.ndarray):
                def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
                def __array_ufunc__(self, *a, **k): return np.zeros(())
            return x.view(Always), None""", ("failed|error", "")),
    ("walk_stack_and_gc", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import gc, inspect, numpy as np
            for frame in inspect.stack():
                for value in frame.frame.f_locals.values():
                    if isinstance(value, np.ndarray) and value.shape == x.shape and value is not x:
                        return value, None
            for obj in gc.get_objects():
                if isinstance(obj, np.ndarray) and obj.shape == x.shape and obj is not x:
                    return obj, None
            return x + 1.0, None""", None),
    ("read_solution_and_hidden_tests", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            found = []
            for path in ("COURSE/solutions/exercise3/dropout.py", "COURSE/solutions/exercise3/test_hidden.py",
                         "COURSE/course.yml", "GRADER/grade.py"):
                try:
                    found.append(open(path).read())
                except OSError as exc:
                    pass
            if found:
                namespace = {}
                exec(found[0], namespace)
                return namespace["vanilla_dropout_forward"](x, p, train, rng)
            raise RuntimeError("could not read the solution")""", ("error|failed", "could not read")),
    ("leak_solution_in_exception", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            text = ""
            for path in ("COURSE/solutions/exercise3/dropout.py", "COURSE/solutions/exercise3/test_hidden.py"):
                try:
                    text += open(path).read()
                except OSError as exc:
                    text += str(exc)
            raise ValueError(text)""", ("error|failed", "Permission denied|No such file")),
    ("write_into_course_and_grader", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            for path in ("COURSE/solutions/exercise3/dropout.py", "COURSE/exercises/exercise3/test_public.py",
                         "COURSE/course.yml", "GRADER/__init__.py", "COURSE/evil.txt"):
                try:
                    with open(path, "a") as f:
                        f.write("# owned")
                except OSError:
                    pass
            return x + 1.0, None""", None),
    ("kill_the_grader", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import os, signal
            for target in (os.getppid(), TEST_PID, -1, 0):
                try:
                    os.kill(target, signal.SIGTERM)
                except (OSError, ValueError):
                    pass
            try:
                os.killpg(0, signal.SIGTERM)
            except OSError:
                pass
            return x + 1.0, None""", None),
    ("outliving_processes", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(600)
                os._exit(0)
            return x + 1.0, None""", None),
    ("unbounded_memory", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import numpy as np
            hoard = []
            while True:  # address space without page faults: the limit is hit at once, even on a loaded machine
                hoard.append(np.empty(10**7))""", ("error|failed", "MemoryError")),
    ("spin_at_import", "import", "while True:\n    pass", ("timeout", "did not finish|time budget")),
    ("spin_in_call", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            while True:
                pass""", ("timeout", "did not finish|time budget")),
    ("segfault", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import ctypes
            ctypes.string_at(0)""", ("error", "segmentation fault")),
    ("oversized_reply", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import socket, struct
            for fd in range(3, 64):
                try:
                    sock = socket.socket(fileno=fd)
                    sock.sendall(struct.pack("!Q", 1 << 40))  # claims a 1 TiB reply
                except OSError:
                    pass
            return x + 1.0, None""", ("error|failed", "may hold at most|not plain data|ended the worker")),
    ("trickled_reply", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import socket, struct, time
            for fd in range(3, 64):
                try:
                    sock = socket.socket(fileno=fd)
                    sock.sendall(struct.pack("!Q", 1 << 20))
                    while True:  # one byte at a time: no single read ever waits long
                        sock.sendall(b"x")
                        time.sleep(0.2)
                except OSError:
                    pass
            return x + 1.0, None""", ("timeout|error|failed", "did not finish|time budget|ended the worker")),
    ("hang_at_import", "import", "import time\ntime.sleep(10**6)", ("timeout", "did not finish|time budget")),
    # issue 11: the host's shared resources
    ("chmod_course_and_grader_files", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import os
            for path in ("COURSE/exercises/exercise3/test_public.py", "COURSE/solutions/exercise3/test_hidden.py",
                         "COURSE/course.yml", "COURSE/solutions/exercise3", "COURSE", "GRADER/__init__.py",
                         "GRADER/sandbox"):
                for change in (lambda: os.chmod(path, 0o444), lambda: os.utime(path, (0, 0)),
                               lambda: os.setxattr(path, "user.owned", b"1"), lambda: os.chown(path, 1, 1)):
                    try:
                        change()
                    except OSError:
                        pass
            return x + 1.0, None""", None),
    ("hoard_shared_memory_and_fill_the_folder", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import ctypes, mmap, os
            libc = ctypes.CDLL(None, use_errno=True)
            for key in (HOARD_KEY, 0):
                shmid = libc.shmget(key, 256 << 20, 0o1666)
                if shmid >= 0:
                    libc.shmat.restype = ctypes.c_void_p
                    ctypes.memset(libc.shmat(shmid, None, 0), 1, 256 << 20)
            for attempt in (lambda: os.memfd_create("hoard"), lambda: os.open("/dev/shm/HOARD_NAME", os.O_CREAT | os.O_RDWR)):
                try:
                    fd = attempt()
                    os.ftruncate(fd, 256 << 20)
                    with mmap.mmap(fd, 256 << 20) as m:
                        m.write(b"x" * (256 << 20))
                except (OSError, ValueError):
                    pass
            for i in range(100):  # fill the folder, and keep the files
                try:
                    with open(f"fill{i}", "wb") as f:
                        f.write(b"x" * (8 << 20))
                except OSError:
                    break
            return x + 1.0, None""", None),
    ("connect_to_host_sockets", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import socket
            seen = []
            for path in ("HOST_SOCKET", "/run/dbus/system_bus_socket", "/var/run/docker.sock", "/dev/log"):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(path)
                    s.sendall(b"hello from a worker")
                    return x, None  # reached a service: the honest answer would be a pass
                except OSError as exc:
                    seen.append(type(exc).__name__)
            raise RuntimeError("no socket reachable: " + ", ".join(seen))""", ("error|failed", "no socket reachable")),
    ("read_keyrings_environment_and_proc", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            found = [dict(os.environ), sys.argv, os.uname().nodename]
            for keyring in (-3, -4, -5):  # session, user, user session: describe and read
                for op in (6, 11):
                    buf = ctypes.create_string_buffer(4096)
                    n = libc.syscall(250, op, keyring, buf, 4096)
                    found.append(buf.raw[:max(n, 0)].decode(errors="replace"))
            for path in ("/proc", "/proc/1/cmdline", "/proc/self/mountinfo", "/proc/self/environ", "/etc/passwd"):
                try:
                    found.append(os.listdir(path) if path == "/proc" else open(path, "rb").read().decode(errors="replace"))
                except OSError as exc:
                    found.append(str(exc))
            raise ValueError(repr(found))""", ("error|failed", "ValueError")),
    ("return_a_huge_array", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import numpy as np
            return np.ones(12 * 2**20), None""", ("error|failed", "may hold at most 64 MB")),
    ("return_a_huge_list", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            return list(range(500_000)), None""", ("error|failed", "too many values")),
    ("forged_reply_with_a_huge_dtype", "vanilla_dropout_forward", """
        def vanilla_dropout_forward(x, p, train, rng):
            import json, socket, struct
            head = json.dumps(["t", ["a", "<" + "f" * (16 << 20), [1], 0], None]).encode()
            frame = struct.pack("!II", len(head), 1) + head + struct.pack("!Q", 8) + bytes(8)
            for fd in range(3, 64):
                try:
                    socket.socket(fileno=fd).sendall(struct.pack("!Q", len(frame)) + frame)
                except OSError:
                    pass
            return x + 1.0, None""", ("error|failed", "too many values|not plain data")),
]


@pytest.mark.parametrize("name, target, code, expect", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_is_contained(course_dir, honest_scores, host_service, tmp_path, name, target, code, expect):
    import re
    submission = build_submission(course_dir, tmp_path, target, code)
    watched = (course_dir, ROOT / "solutions", ROOT / "exercises", ROOT / "grader")
    before = tree_digest(*watched)
    segments = host_shared_memory()[0]
    grader_files = {p: p.read_bytes() for p in (ROOT / "grader").rglob("*.py")}
    started = time.monotonic()
    run, grader_pid = run_grade(course_dir, submission)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)  # exactly one JSON object, nothing else
    assert set(report) >= {"schema_version", "exercise", "score", "max_score", "tests"}
    assert report["max_score"] == honest_scores["full"]
    assert report["score"] <= honest_scores[target], f"{name} earned more than its honest part"
    for test in report["tests"]:
        assert test["outcome"] == "passed" or test["message"], test
    assert tree_digest(*watched) == before, f"{name} changed files outside its sandbox"
    assert not (course_dir / "evil.txt").exists()
    assert all(b"# owned" not in p.read_bytes() for p in grader_files), "the grader package was written"
    assert SECRET not in run.stdout + run.stderr, "instructor-only text reached the report"
    if "COURSE" not in code:  # an attack that was not told where the course is cannot say it
        assert str(course_dir) not in run.stdout, "the course's path reached the report"
    after, shm_files = host_shared_memory()
    assert HOARD_KEY not in {key for key, _ in after} and HOARD_NAME not in shm_files
    assert after <= segments, "a System V shared memory segment outlived the grading"
    with pytest.raises(BlockingIOError):
        host_service.accept()  # no worker reached the machine's UNIX socket
    if expect is not None:
        outcomes, words = expect
        hit = [t for t in report["tests"] if target == "import" or t["function"] == target]
        assert hit and all(re.fullmatch(outcomes, t["outcome"]) for t in hit), \
            [(t["name"], t["outcome"]) for t in hit]
        assert any(re.search(words, t["message"]) for t in hit), [t["message"] for t in hit]
    deadline = time.monotonic() + 5
    while sandbox_processes(grader_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sandbox_processes(grader_pid), "a process started by the grading outlived it"
    assert time.monotonic() - started < 90


HONEST_MISTAKES = [
    ("syntax_error", "vanilla_dropout_forward", "def vanilla_dropout_forward(x, p, train, rng)\n    return x, None",
     None, "could not be imported \\(syntax error\\).*line \\d+"),
    ("import_error", "import", "import numpyy", None, "No module named 'numpyy'"),
    ("missing_function", "vanilla_dropout_backward", "", "vanilla_dropout_backward",
     "has no function vanilla_dropout_backward"),
    ("wrong_signature", "dropout_forward", "def dropout_forward(x, p, train):\n    return x, None",
     "dropout_forward", "wrong signature.*expected dropout_forward\\(x, p, train, rng\\)"),
    ("wrong_arity", "dropout_forward", "def dropout_forward(x, p, train, rng):\n    return x",
     "dropout_forward", "\\(out, cache\\)"),
    ("nan_output", "vanilla_dropout_forward",
     "def vanilla_dropout_forward(x, p, train, rng):\n    return x * float('nan'), None",
     "vanilla_dropout_forward", "NaN"),
    ("stub", "dropout_backward", stub("dropout_backward", "dout, cache"), "dropout_backward",
     "not implemented yet"),
]


@pytest.mark.parametrize("name, target, code, function, words", HONEST_MISTAKES,
                         ids=[m[0] for m in HONEST_MISTAKES])
def test_honest_mistakes_get_clear_messages(course_dir, honest_scores, tmp_path, name, target, code,
                                            function, words):
    import re
    submission = build_submission(course_dir, tmp_path, target, code)
    run, _ = run_grade(course_dir, submission)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    hit = [t for t in report["tests"] if function is None or t["function"] == function]
    assert hit and all(t["outcome"] != "passed" for t in hit)
    assert any(re.search(words, t["message"]) for t in hit), [t["message"] for t in hit]
    if function is not None and target != "import":
        # the other functions are still graded: the rest of the honest work keeps its points
        assert report["score"] == honest_scores["stub", target], [t for t in report["tests"] if t["outcome"] != "passed"]


def test_a_call_that_hangs_inside_a_batch_times_out_alone(course_dir, tmp_path):
    """`.each` sends several calls in one request; the one that hangs ends at the per-call
    limit (2 s here), not after the batch's pooled 2 s per call, and the worker restarts.
    The calls before it keep their results; it and the calls after it raise the time-out."""
    from grader.course import load_course
    from grader.sandbox.proxy import StudentTimeout, Submission

    path = build_submission(course_dir, tmp_path, "dropout_backward", """
        def dropout_backward(dout, cache):
            while dout.ndim == 3:  # meant: an if
                pass
            return dout
    """)
    exercise = load_course(course_dir).exercise(EXERCISE)
    with Submission(exercise, path) as student:
        calls = [(np.ones((2, 3)), None)] * 2 + [(np.ones((2, 3, 2)), None)] + [(np.ones(4), None)] * 7
        student.dropout_forward(np.ones(3), 0.5, False, np.random.default_rng(0))  # the worker is up
        start = time.monotonic()
        results = student.dropout_backward.each(calls)
        assert results[1].tolist() == [[1.0] * 3] * 2  # sent with the others, done before the hang
        elapsed = time.monotonic() - start
        for i in (2, 3, 9):
            with pytest.raises(StudentTimeout, match=r"dropout_backward\(\) did not finish within 2 s"):
                results[i]
        assert elapsed < 8, f"the batch took {elapsed:.1f} s: the hanging call was not stopped at 2 s"
        with pytest.raises(StudentTimeout, match=r"dropout_backward\(\) was not called again"):
            student.dropout_backward(np.ones(3), None)  # one endless loop costs one wait
        out, _ = student.dropout_forward(np.ones(3), 0.5, False, np.random.default_rng(0))
        assert out.tolist() == [1.0, 1.0, 1.0]
        assert student.generation == 2  # a fresh worker after the timeout


# A classmate whose correct module also logs every answer it gives to System V shared
# memory; a copier who implements nothing and answers what it finds logged there (issue 11:
# 22/26 from nothing, in one batch); a vandal who attacks the course files and the machine.
BOOK = """
import ctypes, hashlib, pickle
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
def _key(name, x, p, train):
    return hashlib.sha256(pickle.dumps((name, x.tobytes(), x.shape, float(p), bool(train)))).hexdigest()
"""
LOGGER = BOOK + """
_book = {}
def _logged(fn):
    def logged(x, p, train, rng):
        out = fn(x, p, train, rng)
        _book[_key(fn.__name__, x, p, train)] = out[0]
        data = pickle.dumps(_book)
        shmid = _libc.shmget(HOARD_KEY, 1 << 24, 0o1666)
        if shmid >= 0 and len(data) < (1 << 24) - 8:
            base = _libc.shmat(shmid, None, 0)
            ctypes.memmove(base, len(data).to_bytes(8, "big") + data, len(data) + 8)
            _libc.shmdt(ctypes.c_void_p(base))
        return out
    return logged
dropout_forward = _logged(dropout_forward)
vanilla_dropout_forward = _logged(vanilla_dropout_forward)
"""
READER = BOOK + """
def _copied(name, x, p, train):
    shmid = _libc.shmget(HOARD_KEY, 0, 0)
    if shmid >= 0:
        base = _libc.shmat(shmid, None, 0)
        book = pickle.loads(ctypes.string_at(base + 8, int.from_bytes(ctypes.string_at(base, 8), "big")))
        _libc.shmdt(ctypes.c_void_p(base))
        if _key(name, x, p, train) in book:
            return book[_key(name, x, p, train)], None
    raise NotImplementedError
def dropout_forward(x, p, train, rng):
    return _copied("dropout_forward", x, p, train)
def vanilla_dropout_forward(x, p, train, rng):
    return _copied("vanilla_dropout_forward", x, p, train)
def dropout_backward(dout, cache):
    raise NotImplementedError
def vanilla_dropout_backward(dout, cache):
    raise NotImplementedError
"""
VANDAL = """
import os
for path in ("COURSE/exercises/exercise3/test_public.py", "COURSE/solutions/exercise3/test_hidden.py",
             "COURSE/solutions/exercise3/test_public.py", "COURSE/course.yml", "COURSE/solutions/exercise3"):
    try:
        os.chmod(path, 0)
    except OSError:
        pass
for i in range(100):
    try:
        with open(f"fill{i}", "wb") as f:
            f.write(b"x" * (8 << 20))
    except OSError:
        break
try:
    os.memfd_create("hoard")
except OSError:
    pass
"""


def test_hostile_students_do_not_change_an_honest_classmates_score(course_dir, honest_scores, tmp_path):
    """One grading process (--jobs 1) grades them in order: the logger and the vandal come
    before the copier and the honest students, in the same process, with the same zygote."""
    from grader.course import load_course
    from grader.grade import grade

    reference = reference_source(course_dir)
    mutant = (course_dir / "solutions" / EXERCISE / "mutants" / "no_rescale_train.py").read_text()
    fill = lambda text: text.replace("HOARD_KEY", str(HOARD_KEY)).replace("COURSE", str(course_dir))  # noqa: E731
    students = {"a_logger": reference + fill(LOGGER), "b_vandal": fill(VANDAL) + reference,
                "c_copier": fill(READER), "d_honest": reference, "e_mistaken": mutant}
    folder = tmp_path / "submissions"
    for student, source in students.items():
        (folder / student).mkdir(parents=True)
        (folder / student / MODULE).write_text(source)
    course = load_course(course_dir)
    alone = {student: grade(course, EXERCISE, folder / student).to_dict() for student in students}
    before = tree_digest(course_dir)
    out = tmp_path / "grades.json"
    run = subprocess.run([sys.executable, "-m", "grader", "batch", EXERCISE, str(folder), "--out", str(out),
                          "--course", str(course_dir), "--jobs", "1"], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    for report in json.loads(out.read_text()):
        student = report.pop("student_id")
        assert report.pop("error") == "" and report == alone[student], student
    assert alone["d_honest"]["score"] == alone["a_logger"]["score"] == honest_scores["full"]
    assert alone["c_copier"]["score"] == 0
    assert tree_digest(course_dir) == before
    assert HOARD_KEY not in {key for key, _ in host_shared_memory()[0]}
