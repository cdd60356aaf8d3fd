"""Grade a whole class: parallel workers, a progress report, resumable, one CSV or JSON file.

`SUBMISSIONS/<student_id>/` holds each student's hand-in, resolved like `--submission`
(the module file, a folder named after the exercise, or a notebook); flat Canvas and
Moodle downloads work too (grader.roster). Every entry of SUBMISSIONS gets a row or is
skipped with a reason: the reasons are in the summary and in `<out stem>.skipped<suffix>`.

Parallel: `jobs` grading processes (spawned clean, SIGINT ignored); each keeps ONE sandbox
zygote and one pytest session for all its students (`grade_each`): the tests are collected
once per process, not once per student.

Resumable: each finished student's report is written atomically to
`<out>.partial/<sha256 of the student id>.json` (any legal folder name is an id, even one
too long to take a suffix) together with a hash of the submission and one of the
grading setup (tests, reference, limits, grader code). A rerun of the same command reuses
the entries whose hashes still match and grades the rest. Gradings that failed are not
kept, so a rerun retries them. The final file is rendered from the reports alone, so a
resumed run writes the same bytes as an uninterrupted one; it is written atomically and
then the state folder is removed (a later run starts from scratch).

Beyond one machine: `shard` grades the students of one shard and keeps its state folder
for `grade merge` (grader.shards); `scheduler` hands the students to a Dask cluster
(grader.cluster, imported only then) instead of the local processes. Either way the
results go through the same state folder, and the gradebook comes out the same.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.files import write_atomic
from grader.course import Course, Exercise
from grader.errors import CourseTestError, GraderError
from grader.i18n import _, n_
from grader.pool import grade_in_parallel
from grader.render import render_csv, render_json, render_skipped_csv, render_skipped_json
from grader.roster import Skipped, Student, find_students  # noqa: F401 - batch.Student: the tasks of grader.pool

STATE_VERSION = 2  # 2: state files named by the hash of the student id
FORMATS = (".csv", ".json")


class BatchInterrupted(Exception):
    """Ctrl-C: the finished students are saved; rerunning the same command resumes."""

    def __init__(self, done: int, total: int, state_dir: Path):
        super().__init__(f"interrupted with {done} of {total} students graded")
        self.done, self.total, self.state_dir = done, total, state_dir


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
    skipped: tuple[Skipped, ...] = ()   # entries of SUBMISSIONS that are not students, and why
    warnings: tuple[str, ...] = ()      # e.g. two ids that look identical
    skipped_file: Path | None = None    # where the skipped entries are listed
    not_graded: int = 0  # students with nothing that could be graded: a misnamed file, a syntax
    #                      error, two hand-ins, ... (the error column says why)
    shard: str = ""      # "2/3": only this shard was graded; its results are kept in `kept`
    kept: Path | None = None
    merged: int = 0      # grade merge: how many shards were joined


class Progress:
    """What run_batch reports to while it works (this one stays silent)."""

    def start(self, to_grade: int, reused: int) -> None: ...

    def advance(self, student_id: str, failed: bool) -> None: ...

    def finish(self) -> None: ...


# ------------------------------------------------------------------ the batch

def run_batch(course: Course, exercise_id: str, submissions: Path, out: Path, *,
              jobs: int | None = None, hidden: bool | None = None,
              progress: Progress | None = None, fresh: bool = False,
              shard=None, scheduler: str | None = None) -> BatchSummary:
    """Grade every student folder in `submissions`; write `out` (.csv or .json).
    `fresh`: discard what an earlier, interrupted run kept, and grade everyone again.
    `shard` (grader.shards.Shard): grade its students only and keep their results in
    `<out>.shard-I-of-N/` for `grade merge`, instead of writing `out`. `scheduler`: the
    address of a Dask scheduler whose workers grade the students (grader.cluster)."""
    started = time.monotonic()
    exercise = course.exercise(exercise_id)
    hidden = exercise.has_solutions if hidden is None else hidden
    out, progress = Path(out), progress or Progress()
    check_out(out)
    told = ()
    if scheduler:
        from grader.cluster import check_address  # (not dask: that comes when there is work)

        told = tuple(check_address(scheduler))
    state, skipped_file = StateDir(out, shard.suffix if shard else ".partial"), skipped_path(out)
    roster = find_students(Path(submissions), exercise,
                           own=_own_names(Path(submissions), out, state.path, skipped_file))
    students = [s for s in roster.students if shard is None or shard.holds(s.id)]
    _check_tests(exercise, hidden)
    setup = setup_digest(exercise, hidden)
    with state.locked():
        if fresh:
            state.clear()
        entries, todo, reused = {}, [], 0
        try:
            for student in students:
                if student.problem:  # e.g. two hand-ins: a row with the reason, nothing to grade
                    entries[student.id] = _entry(student.id, "", setup, {"error": student.problem}, exercise)
                    continue
                digest = submission_digest(exercise, student.path)
                entry = state.load(student.id)
                if entry and (entry["submission_sha256"], entry["setup_sha256"]) == (digest, setup):
                    entries[student.id] = entry
                    reused += 1
                else:
                    todo.append((student, digest))
            results, jobs, cluster_told = _grading(course, exercise, todo, hidden=hidden, jobs=jobs,
                                                   scheduler=scheduler, setup=setup)
            told += cluster_told
            progress.start(len(todo), reused)
            with contextlib.closing(results):
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
        if shard:  # the state folder stays: it is what `grade merge` reads
            from grader.shards import write_manifest

            write_manifest(state, shard, exercise.id, setup, roster, rows)
        else:
            skipped_file = write_gradebook(out, rows, roster.skipped)
            state.remove()
    graded = [e["report"]["score"] for e in rows if "report" in e]
    unclear = sum(bool(s.problem) for s in students)  # rows of hand-ins that were never graded
    return BatchSummary(out=out, students=len(rows), failed=len(rows) - len(graded) - unclear, reused=reused,
                        mean_score=sum(graded) / len(graded) if graded else 0.0,
                        max_score=exercise.points, seconds=time.monotonic() - started, jobs=jobs,
                        skipped=roster.skipped, warnings=roster.warnings + told,
                        skipped_file=skipped_file if roster.skipped and not shard else None,
                        not_graded=unclear + sum(bool(e["report"].get("problem")) for e in rows if "report" in e),
                        shard=str(shard or ""), kept=state.path if shard else None)


def _grading(course: Course, exercise: Exercise, todo: list, *, hidden: bool, jobs: int | None,
             scheduler: str | None, setup: str):
    """(the results as (task, outcome) pairs, how many grade at once, warnings): local
    processes, or a Dask cluster's workers when a scheduler is given (and there is work)."""
    if scheduler and todo:
        from grader.cluster import ClusterGrading  # dask is imported only here

        grading = ClusterGrading(scheduler, course, exercise, todo, hidden=hidden, setup=setup)
        return grading, grading.threads, grading.warnings
    jobs = max(1, min(jobs or available_cores(), len(todo) or 1))
    return grade_in_parallel(course, exercise.id, todo, hidden=hidden, jobs=jobs), jobs, ()


def write_gradebook(out: Path, rows: list[dict], skipped: tuple[Skipped, ...]) -> Path | None:
    """`out` (.csv or .json) from the rows, and the list of skipped entries next to it
    (removed when there are none); returns where that list is, if anywhere."""
    csv_out, skipped_file = out.suffix == ".csv", skipped_path(out)
    write_atomic(out, (render_csv if csv_out else render_json)(rows).encode())
    if not skipped:
        with contextlib.suppress(FileNotFoundError):
            skipped_file.unlink()  # an earlier run's list would name entries that are gone
        return None
    write_atomic(skipped_file, (render_skipped_csv if csv_out else render_skipped_json)(skipped).encode())
    return skipped_file


def skipped_path(out: Path) -> Path:
    """Where the entries that got no row are listed: grades.csv -> grades.skipped.csv."""
    return out.with_name(f"{out.stem}.skipped{out.suffix}")


def _own_names(submissions: Path, out: Path, *paths: Path) -> frozenset[str]:
    """The batch's own files, when they are written inside SUBMISSIONS: not students (nor
    the folders of the other shards of this gradebook)."""
    try:
        inside = out.resolve().parent == submissions.resolve()
    except OSError:
        return frozenset()
    if not inside:
        return frozenset()
    shards = {p.name for p in submissions.glob(glob.escape(out.name) + ".shard-*-of-*")}
    return frozenset({p.name for p in (out, *paths)} | shards)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_out(out: Path) -> None:
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
    """A hash of what grading reads: the student's code as read for grading, or why none is."""
    from grader.submission import SubmissionProblem, read

    h = hashlib.sha256()
    try:
        code = read(exercise, path)
        h.update(json.dumps([code.name, code.notes, [u.filename for u in code.units]]).encode())
        for unit in code.units:
            h.update(b"\0" + hashlib.sha256(unit.source).digest())
    except SubmissionProblem as exc:
        h.update(b"not graded\0" + str(exc).encode())
    return h.hexdigest()


def setup_digest(exercise: Exercise, hidden: bool) -> str:
    """A hash of everything besides the submission that decides a grade."""
    from grader.course import EXPECTED_VALUES, MISTAKES

    from grader import i18n

    h = hashlib.sha256(json.dumps([exercise.id, hidden, exercise.functions, asdict(exercise.limits),
                                   sorted(exercise.mutates.items()), i18n.current()]).encode())
    files = list(exercise.test_files(hidden=hidden))
    files += [files[0].parent / MISTAKES] if files else []  # the feedback that names each mistake
    files.append(exercise.solution_dir / exercise.module if exercise.has_solutions
                 else exercise.student_dir / EXPECTED_VALUES)
    files += sorted(Path(__file__).parent.rglob("*.py"))  # the grader itself
    files += [i18n.LOCALE_DIR / f"{i18n.current()}.po", i18n.exercise_catalogue(exercise, i18n.current())]
    for f in files:
        h.update(str(f.name).encode() + b"\0")
        h.update(f.read_bytes() if f.is_file() else b"(missing)")
    return h.hexdigest()


# ------------------------------------------------------------------ state folder

class StateDir:
    """`<out>.partial/`: one JSON file per graded student, written atomically, named by the
    hash of the student id (an id may be too long for a file name with a suffix, or hold
    characters a file system refuses); the file holds the id, checked on reading."""

    def __init__(self, out: Path, suffix: str = ".partial"):
        self.path = out.with_name(out.name + suffix)

    @classmethod
    def at(cls, folder: Path) -> "StateDir":
        """The state folder `folder` (a shard's, given to grade merge)."""
        state = cls.__new__(cls)
        state.path = Path(folder)
        return state

    def file(self, student_id: str) -> Path:
        digest = hashlib.sha256(student_id.encode("utf-8", "surrogatepass")).hexdigest()
        return self.path / f"{digest}.json"

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
            entry = json.loads(self.file(student_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        ok = isinstance(entry, dict) and entry.get("state_version") == STATE_VERSION \
            and entry.get("student_id") == student_id and isinstance(entry.get("report"), dict)
        return entry if ok else None

    def save(self, entry: dict) -> None:
        write_atomic(self.file(entry["student_id"]), json.dumps(entry).encode())

    def clear(self) -> None:
        """Forget every kept result (the lock stays)."""
        for path in self.path.glob("*.json"):
            path.unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class TerminalProgress(Progress):
    """A click progress bar on stderr: students done, failed gradings, time left."""

    def __init__(self):
        self.bar = None
        self.failed = 0

    def start(self, to_grade: int, reused: int) -> None:
        import click

        if to_grade:
            label = n_("Grading {n} student", "Grading {n} students", to_grade)
            if reused:
                label += " " + _("({n} kept from an earlier run)", n=reused)
            self.bar = click.progressbar(length=to_grade, label=label, file=sys.stderr, show_eta=True,
                                         show_pos=True, item_show_func=lambda text: text)
            self.bar.__enter__()

    def advance(self, student_id: str, failed: bool) -> None:
        self.failed += failed
        if self.bar:
            self.bar.update(1, _("{n} failed", n=self.failed) if self.failed else None)

    def finish(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)
            self.bar = None
