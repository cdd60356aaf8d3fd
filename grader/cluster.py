"""`grade batch --scheduler ADDRESS`: the students of a batch graded on a Dask cluster.

Imported only when a scheduler is given (dask is an optional extra, `dl-grader[dask]`).

The coordinator (the machine that runs `grade batch`) reads each student's hand-in
(grader.submission.read: the code, or why it cannot be read) and submits one task per
student; a task grades that student on a Dask worker, in a grading process the worker
keeps (grader.pool.GradingProcess: one pytest session and one sandbox zygote per worker
thread, the student's code in the sandbox as always) and returns the JSON report only.
The coordinator writes every result to the batch's state folder as it arrives (so an
interrupted run resumes as a local one does) and shows the progress.

The course goes to the workers as one zip archive (the exercise's folders and course.yml;
Dask's UploadDirectory would silently leave out folders named `tests`), scattered once to
every worker and unpacked into the worker's own folder. On arrival the worker computes the
setup hash of what it unpacked with the grader it has installed (grader.batch.setup_digest)
and refuses to grade when it differs from the coordinator's: another grader version, or a
damaged archive, never grades a class silently.

Failures: the grading process catches what the student's code does (a crash, a hang, an
exit) and a grading process that dies is replaced and the student retried once on the same
worker, as in a local batch. A Dask worker that is lost (killed, out of memory, its machine
gone) is infrastructure: the scheduler runs its task again on another worker, as many times
as its `distributed.scheduler.allowed-failures` says (set it to 1: docs/scaling.md); then
the student's row says so. Tasks never raise for a student, so Dask's own `retries` is
never used.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import queue
import threading
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from grader.course import COURSE_FILE, Course, Exercise
from grader.errors import GraderError

WORKERS_SECONDS = 120    # for a first worker to join it
IN_FLIGHT_PER_THREAD = 2  # tasks submitted ahead, per worker thread: the queue never runs dry
SCHEMES = ("tcp", "tls")
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # every entry's date: the archive's bytes depend on the files only


class CourseMismatch(GraderError):
    """A worker's setup hash of the course it received differs from the coordinator's."""


def check_address(address: str) -> list[str]:
    """Warnings about a scheduler address; GraderError when it is not one."""
    parts = urlsplit(address)
    if parts.scheme not in SCHEMES or not parts.hostname or not parts.port:
        raise GraderError(f"--scheduler {address}: give the Dask scheduler's address, e.g. "
                          "tcp://10.0.0.5:8786 (or tls://... with TLS set up: docs/scaling.md)")
    if parts.scheme == "tcp" and not _loopback(parts.hostname):
        return [f"the scheduler {address} is reached without TLS: whoever can reach it can run code "
                "on the workers; use tls:// with distributed.Security (docs/scaling.md)"]
    return []


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# ------------------------------------------------------------------ the coordinator

class ClusterGrading:
    """Iterate to get ((student, digest), outcome) as the cluster's workers finish; the
    same pairs as grader.pool.grade_in_parallel. `close()` disconnects (and cancels what
    is still queued)."""

    def __init__(self, address: str, course: Course, exercise: Exercise, todo: list, *,
                 hidden: bool, setup: str):
        check_address(address)
        distributed = _distributed()
        try:
            self.client = distributed.Client(address)  # waits distributed.comm.timeouts.connect (30 s)
        except (OSError, TimeoutError) as exc:
            raise GraderError(f"cannot reach the Dask scheduler at {address} ({exc}); start it with "
                              "'dask scheduler' (docs/scaling.md)") from None
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_SECONDS)
        except TimeoutError:
            self.client.close()
            raise GraderError(f"no Dask worker joined the scheduler at {address} within {WORKERS_SECONDS} s; "
                              f"start workers with 'dask worker {address} --nthreads 1'") from None
        self.threads = sum(self.client.nthreads().values())
        self.warnings = _retry_warnings(self.client, address)
        self.exercise, self.todo, self.hidden, self.setup = exercise, todo, hidden, setup
        from grader.i18n import current

        self.lang = current()  # the batch's language: the workers grade in it
        archive = course_archive(course, exercise)
        self.archive_sha = hashlib.sha256(archive).hexdigest()
        [self.archive] = self.client.scatter([archive], broadcast=True, hash=False)

    def __iter__(self):
        from distributed import as_completed

        tasks, running, waiting = iter(self.todo), as_completed(), {}
        ahead = max(2, IN_FLIGHT_PER_THREAD * self.threads)
        run = uuid.uuid4().hex[:8]  # keys of this run only: a restarted coordinator shares no task
        while True:
            while len(waiting) < ahead and (task := next(tasks, None)) is not None:
                what = _read(self.exercise, task[0].path)
                if isinstance(what, dict):  # the coordinator could not even read it
                    yield task, what
                    continue
                future = self.client.submit(
                    grade_on_worker, self.archive, self.archive_sha, self.setup, self.exercise.id,
                    self.hidden, task[0].id, what, self.lang, pure=False, key=f"grade-{_short(task[0].id)}-{run}")
                waiting[future.key] = task
                running.add(future)
            if not waiting:
                return
            future = next(running)
            task = waiting.pop(future.key)
            outcome = self._outcome(future, task[0].id)
            future.release()
            yield task, outcome

    def _outcome(self, future, student_id: str) -> dict:
        from distributed import KilledWorker

        try:
            text = future.result()
        except KilledWorker as exc:
            last = getattr(exc, "last_worker", None)
            return {"error": "grading failed: the Dask workers grading this submission were lost"
                             + (f" ({last} was the last)" if last else "") + "; see the workers' logs"}
        except GraderError:
            raise  # the course or the grader on a worker: nobody can be graded there
        except Exception as exc:  # noqa: BLE001 - a worker's failure, not the student's
            raise GraderError(f"a Dask worker failed while grading {student_id!r}: "
                              f"{type(exc).__name__}: {exc}") from None
        outcome = json.loads(text)
        if not (isinstance(outcome.get("report"), dict) or isinstance(outcome.get("error"), str)):
            return {"error": "grading failed: the worker's answer is not a report"}
        return outcome

    def close(self) -> None:
        self.client.close()


def _retry_warnings(client, address: str) -> tuple[str, ...]:
    """A warning unless the scheduler runs a lost worker's task again exactly once."""
    try:
        allowed = client.run_on_scheduler(_allowed_failures)
    except Exception:  # noqa: BLE001 - a scheduler that runs no functions: nothing to say
        return ()
    if allowed == 1:
        return ()
    return (f"the scheduler {address} runs a task whose worker was lost up to {allowed} more time"
            f"{'s' if allowed != 1 else ''} (distributed.scheduler.allowed-failures); start it with "
            "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1 so a student is retried once (docs/scaling.md)",)


def _allowed_failures(dask_scheduler) -> int:
    return dask_scheduler.allowed_failures


def _distributed():
    try:
        import distributed
    except ImportError:
        raise GraderError("--scheduler needs Dask's distributed package: pip install 'dl-grader[dask]' "
                          "(on this machine and on every worker)") from None
    return distributed


def _read(exercise: Exercise, path: Path):
    """What a worker grades: the student's code, or the SubmissionProblem (why there is
    none to run, in words for the student); a dict outcome when reading failed otherwise."""
    from grader.pool import outcome_of
    from grader.submission import SubmissionProblem, read

    try:
        return read(exercise, path)
    except SubmissionProblem as exc:
        return SubmissionProblem(str(exc))  # plain: the subclasses do not pickle
    except Exception as exc:  # noqa: BLE001 - e.g. the folder was removed during the batch
        return outcome_of(exc)


def _short(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def course_archive(course: Course, exercise: Exercise) -> bytes:
    """A zip of what grading the exercise reads: course.yml and the exercise's folders in
    exercises/ and solutions/ (where present), with fixed dates and order."""
    files = [course.root / COURSE_FILE]
    for folder in (exercise.student_dir, exercise.solution_dir):
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(course.root).as_posix(), _ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    return buf.getvalue()


# ------------------------------------------------------------------ the worker

_LOCK = threading.Lock()
_COURSES: dict[tuple, tuple] = {}  # (archive sha256, exercise, hidden) -> (course unpacked here, its setup hash)
_PROCESSES: dict[tuple, queue.LifoQueue] = {}  # (archive, exercise, hidden, language) -> idle grading processes
_KEEP = 2  # course versions whose grading processes a worker keeps


def grade_on_worker(archive: bytes, archive_sha: str, setup: str, exercise_id: str, hidden: bool,
                    student_id: str, what, lang: str = "en") -> str:
    """A Dask task: grade one student with this worker's grading process, in the batch's
    language `lang`; the outcome as JSON ({"report": ...} or {"error": ...})."""
    from grader.i18n import language

    with language(lang):  # the setup hash and the grading process's reports are the language's
        return _grade_on_worker(archive, archive_sha, setup, exercise_id, hidden, student_id, what, lang)


def _grade_on_worker(archive, archive_sha, setup, exercise_id, hidden, student_id, what, lang) -> str:
    course = unpack_course(archive, archive_sha, setup, exercise_id, hidden, _worker_folder())
    key = (archive_sha, exercise_id, hidden, lang)
    with _LOCK:
        idle = _PROCESSES.setdefault(key, queue.LifoQueue())
        _PROCESSES[key] = _PROCESSES.pop(key)  # most recently used last
        for old in list(_PROCESSES)[:-_KEEP]:
            _close_all(_PROCESSES.pop(old))
    try:
        process = idle.get_nowait()
    except queue.Empty:
        from grader.pool import GradingProcess

        process = GradingProcess(course, exercise_id, hidden)  # one per worker thread, kept
    try:
        outcome = process.grade((student_id, what))
    except BaseException:
        process.close(now=True)
        raise
    with _LOCK:
        kept = _PROCESSES.get(key) is idle
    if kept:
        idle.put(process)
    else:  # its course version was dropped meanwhile (a worker keeps _KEEP of them)
        process.close(now=False)
    return json.dumps(outcome)


def unpack_course(archive: bytes, archive_sha: str, setup: str, exercise_id: str, hidden: bool,
                  folder: Path) -> Course:
    """The course in `archive`, unpacked once into `folder`/<sha>; CourseMismatch unless
    its setup hash, computed here with this grader, is the coordinator's `setup`."""
    from grader.batch import setup_digest
    from grader.course import load_course

    if hashlib.sha256(archive).hexdigest() != archive_sha:
        raise CourseMismatch("the course archive arrived damaged on a Dask worker; run the batch again")
    from grader.i18n import current

    with _LOCK:
        key = (archive_sha, exercise_id, hidden, current())  # the setup hash includes the language
        if key not in _COURSES:
            root = folder / f"course-{archive_sha[:16]}"
            with zipfile.ZipFile(io.BytesIO(archive)) as z:
                z.extractall(root)
            course = load_course(root)
            _COURSES[key] = course, setup_digest(course.exercise(exercise_id), hidden)
        course, ours = _COURSES[key]
    if ours != setup:  # checked for every task: each coordinator may run another grader
        raise CourseMismatch(
            f"a Dask worker ({_worker_name()}) computes the setup hash {ours[:12]} for the course it "
            f"received, the coordinator {setup[:12]}: its grader differs from this one; install the "
            "same dl-grader on every worker (docs/scaling.md)")
    return course


def _worker_folder() -> Path:
    from distributed import get_worker

    folder = Path(get_worker().local_directory) / "dl-grader"
    folder.mkdir(exist_ok=True)
    return folder


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "not in a worker"


def _close_all(idle: queue.LifoQueue) -> None:
    while True:
        try:
            idle.get_nowait().close(now=False)
        except queue.Empty:
            return
