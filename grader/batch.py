"""Grade a whole class: parallel workers, a progress report, resumable, one CSV or JSON file.

`SUBMISSIONS/<student_id>/` holds each student's hand-in, resolved like `--submission`
(the module file, a folder named after the exercise, or a notebook).

Parallel: `jobs` grading processes (spawned clean, SIGINT ignored); each keeps ONE sandbox
zygote for all its students and calls `grade()` for one student at a time.

Resumable: each finished student's report is written atomically to
`<out>.partial/<student_id>.json` together with a hash of the submission and one of the
grading setup (tests, reference, limits, grader code). A rerun of the same command reuses
the entries whose hashes still match and grades the rest. Gradings that failed are not
kept, so a rerun retries them. The final file is rendered from the reports alone, so a
resumed run writes the same bytes as an uninterrupted one; it is written atomically and
then the state folder is removed (a later run starts from scratch).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import hashlib
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.course import Course, Exercise
from grader.errors import CourseTestError, GraderError, SubmissionNotFound
from grader.report import SCHEMA_VERSION

STATE_VERSION = 1
FORMATS = (".csv", ".json")
CSV_FIXED = ["student_id", "score", "max_score", "error"]


class BatchInterrupted(Exception):
    """Ctrl-C: the finished students are saved; rerunning the same command resumes."""

    def __init__(self, done: int, total: int, state_dir: Path):
        super().__init__(f"interrupted with {done} of {total} students graded")
        self.done, self.total, self.state_dir = done, total, state_dir


@dataclass(frozen=True)
class Student:
    id: str
    path: Path


@dataclass(frozen=True)
class BatchSummary:
    out: Path
    students: int
    failed: int          # gradings that failed (their rows carry the reason)
    reused: int          # results taken over from an interrupted earlier run
    mean_score: float
    max_score: float
    seconds: float
    jobs: int


class Progress:
    """What run_batch reports to while it works (this one stays silent)."""

    def start(self, to_grade: int, reused: int) -> None: ...

    def advance(self, student_id: str, failed: bool) -> None: ...

    def finish(self) -> None: ...


# ------------------------------------------------------------------ the batch

def run_batch(course: Course, exercise_id: str, submissions: Path, out: Path, *,
              jobs: int | None = None, hidden: bool | None = None,
              progress: Progress | None = None) -> BatchSummary:
    """Grade every student folder in `submissions`; write `out` (.csv or .json)."""
    started = time.monotonic()
    exercise = course.exercise(exercise_id)
    hidden = exercise.has_solutions if hidden is None else hidden
    out, progress = Path(out), progress or Progress()
    _check_out(out)
    students = find_students(Path(submissions), exercise)
    _check_tests(exercise, hidden)
    setup = setup_digest(exercise, hidden)
    state = StateDir(out)
    with state.locked():
        entries, todo = {}, []
        try:
            for student in students:
                digest = submission_digest(exercise, student.path)
                entry = state.load(student.id)
                if entry and (entry["submission_sha256"], entry["setup_sha256"]) == (digest, setup):
                    entries[student.id] = entry
                else:
                    todo.append((student, digest))
            reused, jobs = len(entries), max(1, min(jobs or available_cores(), len(todo) or 1))
            progress.start(len(todo), reused)
            with contextlib.closing(grade_in_parallel(course, exercise.id, todo, hidden=hidden,
                                                      jobs=jobs)) as results:
                for (student, digest), outcome in results:
                    entries[student.id] = _entry(student.id, digest, setup, outcome, exercise)
                    if "report" in outcome:
                        state.save(entries[student.id])  # failed gradings are retried by a rerun
                    progress.advance(student.id, failed="report" not in outcome)
        except KeyboardInterrupt:
            raise BatchInterrupted(len(entries), len(students), state.path) from None
        finally:
            progress.finish()
        rows = [entries[s.id] for s in students]
        write_atomic(out, (render_csv if out.suffix == ".csv" else render_json)(rows).encode())
        state.remove()
    graded = [e["report"]["score"] for e in rows if "report" in e]
    return BatchSummary(out=out, students=len(rows), failed=len(rows) - len(graded), reused=reused,
                        mean_score=sum(graded) / len(graded) if graded else 0.0,
                        max_score=exercise.points, seconds=time.monotonic() - started, jobs=jobs)


def find_students(folder: Path, exercise: Exercise) -> list[Student]:
    """One student per sub-folder (its name is the student id), sorted by id."""
    if not folder.is_dir():
        raise SubmissionNotFound(folder) if not folder.exists() else \
            GraderError(f"{folder} is a file; SUBMISSIONS must be a folder with one folder per student")
    students = [Student(p.name, p) for p in sorted(folder.iterdir())
                if p.is_dir() and not p.name.startswith((".", "__"))]
    if not students:
        raise GraderError(f"{folder} holds no student folders; expected one folder per student, "
                          f"e.g. {folder / 'alice' / exercise.module}")
    return students


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _check_out(out: Path) -> None:
    if out.suffix not in FORMATS:
        raise GraderError(f"--out {out}: the file name must end in .csv or .json")
    if not out.parent.is_dir():
        raise GraderError(f"--out {out}: the folder {out.parent} does not exist")


def _check_tests(exercise: Exercise, hidden: bool) -> None:
    """Fail before grading anyone when the course itself is incomplete."""
    files = exercise.test_files(hidden=hidden)
    missing = [f for f in files if not f.is_file()]
    if missing or not files:
        raise CourseTestError(f"test file {missing[0] if missing else exercise.id} is missing; "
                              "rebuild the exercises with 'grade build'")


def _entry(student_id: str, digest: str, setup: str, outcome: dict, exercise: Exercise) -> dict:
    entry = {"state_version": STATE_VERSION, "student_id": student_id,
             "submission_sha256": digest, "setup_sha256": setup}
    if "report" in outcome:
        entry["report"] = outcome["report"]
    else:
        entry.update(exercise=exercise.id, max_score=float(exercise.points), error=outcome["error"])
    return json.loads(json.dumps(entry))  # exactly what a reload from the state folder gives


# ------------------------------------------------------------------ hashes

def submission_digest(exercise: Exercise, path: Path) -> str:
    """A hash of what grading reads: the located module or notebook, or why there is none."""
    from grader.submission import NoModule, locate

    h = hashlib.sha256()
    try:
        found = locate(exercise, path)
        h.update(found.suffix.encode() + b"\0" + found.read_bytes())
    except NoModule as exc:
        h.update(b"no module\0" + str(exc).encode())
    except OSError as exc:
        h.update(b"unreadable\0" + str(exc).encode())
    return h.hexdigest()


def setup_digest(exercise: Exercise, hidden: bool) -> str:
    """A hash of everything besides the submission that decides a grade."""
    from grader.course import EXPECTED_VALUES

    h = hashlib.sha256(json.dumps([exercise.id, hidden, exercise.functions, asdict(exercise.limits),
                                   sorted(exercise.mutates.items())]).encode())
    files = list(exercise.test_files(hidden=hidden))
    files.append(exercise.solution_dir / exercise.module if exercise.has_solutions
                 else exercise.student_dir / EXPECTED_VALUES)
    files += sorted(Path(__file__).parent.rglob("*.py"))  # the grader itself
    for f in files:
        h.update(str(f.name).encode() + b"\0")
        h.update(f.read_bytes() if f.is_file() else b"(missing)")
    return h.hexdigest()


# ------------------------------------------------------------------ state folder

class StateDir:
    """`<out>.partial/`: one JSON file per graded student, written atomically."""

    def __init__(self, out: Path):
        self.path = out.with_name(out.name + ".partial")

    @contextlib.contextmanager
    def locked(self):
        import fcntl

        self.path.mkdir(exist_ok=True)
        with open(self.path / ".lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise GraderError(f"another 'grade batch' is writing {self.path}; wait for it to "
                                  "finish or stop it") from None
            yield self

    def load(self, student_id: str) -> dict | None:
        try:
            entry = json.loads((self.path / f"{student_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        ok = isinstance(entry, dict) and entry.get("state_version") == STATE_VERSION \
            and entry.get("student_id") == student_id and isinstance(entry.get("report"), dict)
        return entry if ok else None

    def save(self, entry: dict) -> None:
        write_atomic(self.path / f"{entry['student_id']}.json", json.dumps(entry).encode())

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a temporary file next to `path`, flush it to disk, rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------ rendering

def _num(x: float) -> str:
    text = f"{x:g}"
    return text if float(text) == x else repr(float(x))


def render_csv(entries: list[dict]) -> str:
    """student_id,score,max_score,error, then one column per test (points earned)."""
    names = next(([t["name"] for t in e["report"]["tests"]] for e in entries if "report" in e), [])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIXED + names)
    for entry in entries:
        if "report" not in entry:
            writer.writerow([entry["student_id"], "0", _num(entry["max_score"]),
                             " ".join(entry["error"].split())] + [""] * len(names))
            continue
        report = entry["report"]
        cells = [_num(t["points"]) for t in report["tests"]]
        if [t["name"] for t in report["tests"]] != names:  # not expected: one setup, one test list
            by_name = {t["name"]: _num(t["points"]) for t in report["tests"]}
            cells = [by_name.get(name, "") for name in names]
        fixed = [entry["student_id"], _num(report["score"]), _num(report["max_score"]), ""]
        writer.writerow(fixed + cells)
    return buf.getvalue()


def render_json(entries: list[dict]) -> str:
    """A list of JSON reports, each with its student_id and an error ("" when graded)."""
    out = []
    for entry in entries:
        if "report" in entry:
            out.append({"student_id": entry["student_id"], **entry["report"], "error": ""})
        else:
            out.append({"student_id": entry["student_id"], "schema_version": SCHEMA_VERSION,
                        "exercise": entry["exercise"], "score": 0.0, "max_score": entry["max_score"],
                        "tests": [], "output": "", "warnings": [], "error": entry["error"]})
    return json.dumps(out, indent=2) + "\n"


def summary_text(s: BatchSummary) -> str:
    def n(count, word):
        return f"{count} {word}{'s' if count != 1 else ''}"

    text = (f"Graded {n(s.students, 'student')} in {s.seconds:.1f} s with {n(s.jobs, 'worker')}: "
            f"{s.students - s.failed} graded, {n(s.failed, 'grading')} failed"
            f"{' (the error column says why)' if s.failed else ''}, "
            f"mean score {s.mean_score:.2f} / {s.max_score:g}.")
    if s.reused:
        text += f" {n(s.reused, 'result')} came from an interrupted earlier run."
    return text + f" Wrote {s.out}."


# ------------------------------------------------------------------ workers

def grade_in_parallel(course: Course, exercise_id: str, tasks: list, *, hidden: bool, jobs: int):
    """Yield (task, outcome) as students finish; outcome is {"report": dict} or {"error": str}.

    task is (Student, anything). A worker that dies, or is stopped because one grading
    outlived the submission's time limit by a minute, takes its student with it: that
    student is retried once on a fresh worker, then gets an error row.
    """
    if not tasks:
        return
    pool = _Pool(course, exercise_id, hidden, jobs)
    limit = course.exercise(exercise_id).limits.submission_seconds + 60
    pending = collections.deque((task, 0) for task in tasks)
    busy: dict = {}  # conn -> (worker, task, tries)
    try:
        while pending or busy:
            while pending and pool.idle:
                worker, (task, tries) = pool.idle.pop(), pending.popleft()
                if pool.assign(worker, (task[0].id, str(task[0].path))):
                    busy[worker.conn] = (worker, task, tries)
                else:
                    pending.appendleft((task, tries))
            for conn in multiprocessing.connection.wait(list(busy), timeout=5):
                worker, task, tries = busy.pop(conn)
                try:
                    outcome = conn.recv()
                    pool.graded += 1
                    pool.idle.append(worker)
                except (EOFError, OSError):
                    how = pool.replace(worker)
                    if tries == 0:
                        pending.appendleft((task, 1))
                        continue
                    outcome = {"error": f"the grading process {how}, twice on this submission"}
                yield task, outcome
            pool.stop_stuck(limit)
    finally:
        pool.close(now=bool(pending or busy))


@dataclass
class _Worker:
    process: multiprocessing.Process
    conn: multiprocessing.connection.Connection
    started: float = 0.0   # when its current student was handed over
    stuck: bool = False


class _Pool:
    """`jobs` spawned grading processes; a dead or stuck one is replaced."""

    def __init__(self, course, exercise_id, hidden, jobs):
        self.ctx = multiprocessing.get_context("spawn")
        self.args = (course, exercise_id, hidden)
        self.graded = self.deaths = 0
        self.workers = [self._start() for _ in range(jobs)]
        self.idle = list(self.workers)

    def _start(self) -> _Worker:
        ours, theirs = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, args=(theirs, *self.args), daemon=True)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited: Ctrl-C is ours to handle
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        theirs.close()
        return _Worker(process, ours)

    def assign(self, worker: _Worker, task) -> bool:
        try:
            worker.conn.send(task)
        except OSError:  # it died while idle
            self.replace(worker)
            return False
        worker.started = time.monotonic()
        return True

    def stop_stuck(self, limit: float) -> None:
        for w in self.workers:
            if w not in self.idle and not w.stuck and time.monotonic() - w.started > limit:
                w.stuck = True
                w.process.terminate()  # its connection then reports the end

    def replace(self, worker: _Worker) -> str:
        """Start a new worker in place of one that ended; say how it ended."""
        worker.process.join(5)
        code = worker.process.exitcode
        worker.conn.close()
        self.workers.remove(worker)
        self.deaths += 1
        if self.deaths > 3 and not self.graded:
            raise GraderError(f"the grading processes die before grading anyone (exit status {code}); "
                              "grade one student with 'grade EXERCISE --submission PATH' to see why")
        fresh = self._start()
        self.workers.append(fresh)
        self.idle.append(fresh)
        if worker.stuck:
            return f"was stopped after {time.monotonic() - worker.started:.0f} s"
        return f"died ({f'signal {-code}' if code is not None and code < 0 else f'exit status {code}'})"

    def close(self, *, now: bool) -> None:
        """Stop the workers: when they are idle, by asking; when interrupted, with SIGTERM."""
        for w in self.workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
            if now and w.process.is_alive():
                w.process.terminate()
        deadline = time.monotonic() + 10
        for w in self.workers:
            w.process.join(max(0.1, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()


def _worker_main(conn, course: Course, exercise_id: str, hidden: bool) -> None:
    """A grading process: one zygote, many students, one at a time.

    SIGTERM (the batch was interrupted) kills the zygote's process group, which holds the
    sandboxed worker of the student being graded, and exits at once: an interrupted
    grading is never reported.
    """
    zygotes = ZygoteKeeper()

    def on_term(signum, frame):
        zygotes.kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        while (task := conn.recv()) is not None:
            conn.send(grade_one(course, exercise_id, Path(task[1]), hidden=hidden, zygotes=zygotes))
    except (EOFError, OSError):
        pass  # the batch is gone
    finally:
        zygotes.discard()


class ZygoteKeeper:
    """The one zygote of a grading process, replaced when it has ended or may be broken."""

    def __init__(self):
        self.current = None

    def get(self):
        from grader.sandbox.proxy import Zygote

        if self.current is not None and self.current.process.poll() is not None:
            self.discard()
        if self.current is None:
            self.current = Zygote()
        return self.current

    def discard(self) -> None:
        zygote, self.current = self.current, None
        if zygote is not None:
            with contextlib.suppress(Exception):
                zygote.close()

    def kill(self) -> None:
        """From a signal handler: the zygote and the workers it forked, without waiting."""
        if self.current is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.current.process.pid, signal.SIGKILL)


def grade_one(course: Course, exercise_id: str, path: Path, *, hidden: bool, zygotes: ZygoteKeeper,
              grade=None) -> dict:
    """Grade one student with the process's zygote, as a fresh process would.

    Returns {"report": dict} or {"error": reason}. A grading that raises is retried once
    with a fresh zygote (the old one may be what broke).
    """
    from grader.grade import grade as default_grade
    from grader.sandbox import proxy

    grade = grade or default_grade
    error = ""
    for _ in range(2):
        try:
            zygote = zygotes.get()
            proxy.reset_warnings()  # it warns once per process; each report must carry the warning
            return {"report": grade(course, exercise_id, path, hidden=hidden, zygote=zygote).to_dict()}
        except Exception as exc:  # noqa: BLE001 - a failure of the grading, not of the student's code
            error = f"grading failed: {type(exc).__name__}: {exc}"
            zygotes.discard()
    return {"error": error}


class TerminalProgress(Progress):
    """A click progress bar on stderr: students done, failed gradings, time left."""

    def __init__(self):
        self.bar = None
        self.failed = 0

    def start(self, to_grade: int, reused: int) -> None:
        import click

        if to_grade:
            kept = f" ({reused} kept from an earlier run)" if reused else ""
            label = f"Grading {to_grade} student{'s' if to_grade != 1 else ''}{kept}"
            self.bar = click.progressbar(length=to_grade, label=label, file=sys.stderr, show_eta=True,
                                         show_pos=True, item_show_func=lambda text: text)
            self.bar.__enter__()

    def advance(self, student_id: str, failed: bool) -> None:
        self.failed += failed
        if self.bar:
            self.bar.update(1, f"{self.failed} failed" if self.failed else None)

    def finish(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)
            self.bar = None
