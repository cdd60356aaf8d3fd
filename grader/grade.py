"""grade(exercise, submission) -> GradeReport: the one entry point of grading.

`grade_each` is the same for many submissions in one pytest session: the session is
configured and the tests are collected once, then every test item runs against one
submission after another (what a `grade batch` process does; a pytest session costs
about as much as grading a small exercise, so paying it once per student would double
the cost of a class).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import os
import sys
from pathlib import Path
from typing import Callable, Iterable

from grader.course import HIDDEN_TESTS, Course, Exercise
from grader import i18n
from grader.errors import (CourseTestError, GraderError, MissingDependency, NothingSelected, NothingToGrade,
                           restore_fix)
from grader.i18n import _
from grader.report import GradeReport


def grade(course: Course, exercise_id: str, submission: Path | None = None, *,
          hidden: bool | None = None, reference=None, zygote=None, on_slow=None,
          select: str = "", require_module: bool = True) -> GradeReport:
    """Run an exercise's tests against a submission in the sandbox.

    `submission` is a folder, a module file or a notebook (default: the student's
    working copy in exercises/). Hidden tests run where solutions/ is present unless
    `hidden=False`. `select` is a pytest -k expression: only the tests it matches run,
    and the report says it is a selection. Raises GraderError for usage and configuration
    mistakes only: among them a path that holds no module at all, unless
    `require_module=False` (then it is graded: every test an error, the reason in the
    report's `problem`). Everything else about the submission and its code ends up in the
    report. Ctrl-C raises GradingInterrupted with the tests that finished. `on_slow(what,
    seconds, limit)` hears of a call into student code that is still running after a few
    seconds (`seconds` None: it is over), for a caller that shows progress.
    """
    if require_module:  # read once here; the grading takes the code as read
        submission = _holding_a_module(course.exercise(exercise_id), submission)
    outcome: list = []
    grade_each(course, exercise_id, [submission], lambda _, result: outcome.append(result),
               hidden=hidden, reference=reference, zygotes=ZygoteKeeper(zygote), on_slow=on_slow,
               select=select)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return dataclasses.replace(outcome[0], selection=select) if select else outcome[0]


def _holding_a_module(exercise: Exercise, submission: Path | None):
    """The submission's code as read for grading; NothingToGrade when it holds no module."""
    from grader.submission import NoModule, SubmissionProblem, read

    try:
        return read(exercise, exercise.student_dir if submission is None else Path(submission))
    except NoModule as exc:
        if submission is None:  # the working copy: the student's file is gone, not misnamed
            raise NothingToGrade(_missing_working_copy(exercise)) from None
        raise NothingToGrade(_("{problem}; {fix}", problem=exc, fix=exc.fix)) from None
    except SubmissionProblem:
        return submission  # there is a file, but it is not read: that is the student's report


def _missing_working_copy(exercise: Exercise) -> str:
    """Why `grade EXERCISE` has nothing to grade: exercises/<id>/<module> is gone."""
    where = exercise.student_dir / exercise.module
    try:
        where = where.relative_to(Path.cwd())
    except ValueError:
        pass
    return _("{path} is missing: it is the file you write {exercise} in. Put it back (it came with the "
             "exercises), or grade a copy elsewhere with 'grade {exercise} --submission PATH'",
             path=where, exercise=exercise.id)


def grade_each(course: Course, exercise_id: str, submissions: Iterable,
               on_graded: Callable[[object, GradeReport | Exception], None], *,
               hidden: bool | None = None, reference=None, zygotes: "ZygoteKeeper | None" = None,
               retries: int = 0, on_slow=None, select: str = "") -> None:
    """Grade each submission (a path as `grade` takes it, `None` meaning the working copy, a
    `StudentCode` already read, or the `SubmissionProblem` its reading raised) in one
    pytest session (or one per submission, for tests that cannot run twice: see
    grader.plugin); call `on_graded(submission, report)` as each finishes.

    `submissions` may be a lazy iterator (a batch process reads its next student only when
    it is free). A grading that raises (a sandbox failure, an unreadable notebook) is
    retried `retries` times with a fresh zygote, then passed to `on_graded` as the
    exception. Errors of the course itself (broken tests) raise.
    """
    exercise = course.exercise(exercise_id)
    with i18n.language(i18n.current(), exercise=exercise):  # the exercise's messages, in the language spoken
        _grade_each(exercise, submissions, on_graded, hidden=hidden, reference=reference, zygotes=zygotes,
                    retries=retries, on_slow=on_slow, select=select)


def _grade_each(exercise: Exercise, submissions: Iterable, on_graded: Callable, *, hidden, reference,
                zygotes, retries, on_slow, select) -> None:
    from grader.reference import Reference

    for package in exercise.needs:  # before any zygote or test imports it
        if importlib.util.find_spec(package) is None:
            raise MissingDependency(exercise.id, package)
    hidden = exercise.has_solutions if hidden is None else hidden
    files = exercise.test_files(hidden=hidden)
    missing = [f for f in files if not f.is_file()]
    if missing or not files:
        raise CourseTestError(f"test file {missing[0] if missing else exercise.id} is missing; "
                              f"{restore_fix(exercise)}")
    zygotes = zygotes or ZygoteKeeper()
    queue = iter(submissions)
    upcoming = [next(queue, _END)]  # one ahead: a session is started only for a submission

    def each(run_tests: Callable, rerunnable: bool) -> None:
        while upcoming[0] is not _END:
            submission = upcoming[0]
            for _attempt in range(retries + 1):
                try:
                    report = _grade_one(exercise, submission, run_tests, zygotes, on_slow)
                    break
                except Exception as exc:  # noqa: BLE001 - the grading failed, not the student's code
                    report = exc
                    zygotes.discard()  # the zygote may be what broke
            on_graded(submission, report)
            upcoming[0] = next(queue, _END)
            if not rerunnable:
                return  # the next submission gets a session of its own

    try:
        if upcoming[0] is not _END:
            zygotes.get().prepare(exercise.needs)  # starts now, in parallel with collecting the tests
        reference = reference or Reference.for_exercise(exercise)
        while upcoming[0] is not _END:
            _session(exercise, files, reference, each, select)
    finally:
        if zygotes.owned:
            zygotes.discard()


_END = object()


def _session(exercise: Exercise, files: list[Path], reference, each: Callable, select: str = "") -> None:
    """One pytest session that calls `each`; raises what went wrong around the tests."""
    import pytest

    from grader.checks.inputs import course_secret
    from grader.checks.mistakes import catalogue_of
    from grader.plugin import GradingPlugin

    plugin = GradingPlugin(exercise, reference, each,
                           hidden_files=[f for f in files if f.name == HIDDEN_TESTS])
    with course_secret(reference.input_secret), catalogue_of(files[0].parent):  # unseen inputs where
        status, output = _pytest_session(files, plugin, select)              # the reference is live
    if plugin.loop_error is not None:
        raise plugin.loop_error  # KeyboardInterrupt, or a bug of ours: never swallowed by pytest
    if status == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt  # pytest swallowed Ctrl-C; a half-run grading is no grading
    if select and status == pytest.ExitCode.USAGE_ERROR:
        why = output.strip().splitlines()[-1].split(f"{select}: ", 1)[-1]  # pytest's "at column n: ..."
        raise GraderError(_("-k {select} is not a valid pytest expression: {why}; join words with and, or, "
                            "not (e.g. -k 'forward and not hidden')", select=repr(select), why=why))
    if select and plugin.deselected and not plugin.order and not plugin.collection_errors:
        raise NothingSelected(exercise.id, select)
    if plugin.collection_errors:
        raise CourseTestError(f"the tests of {exercise.id} are broken: {plugin.collection_errors[0]}"
                              + ("" if exercise.has_solutions else f"; {restore_fix(exercise)}"))
    if not plugin.order:
        raise CourseTestError(f"no tests were collected for {exercise.id}:\n{output[-2000:]}")
    if not plugin.looped:
        raise CourseTestError(f"the tests of {exercise.id} did not run (pytest exit status {status}):\n"
                              f"{output[-2000:]}")


def _grade_one(exercise: Exercise, submission, run_tests: Callable, zygotes, on_slow=None) -> GradeReport:
    from grader.sandbox.proxy import Submission
    from grader.submission import StudentCode, SubmissionProblem, read

    try:
        if isinstance(submission, SubmissionProblem):
            raise submission  # read elsewhere (a Dask coordinator): why it cannot be read
        code, problem = (submission if isinstance(submission, StudentCode) else
                         read(exercise, exercise.student_dir if submission is None else Path(submission))), ""
    except SubmissionProblem as exc:  # the student's: every test says so, the report says it once
        code, problem = None, str(exc)
    with contextlib.ExitStack() as stack:
        student = stack.enter_context(Submission(
            exercise, code, zygote=zygotes.get() if code else None, problem=problem, on_slow=on_slow))
        results = run_tests(student)
    return GradeReport(exercise=exercise.id, tests=results, output=student.output, warnings=tuple(student.warnings),
                       problem=student.problem, notes=tuple(student.notes), language=i18n.current())


class ZygoteKeeper:
    """The zygote a grading uses: one given by the caller (never closed here), or one of
    its own, started on first use and replaced when it has ended or may be broken."""

    def __init__(self, zygote=None):
        self.current = zygote
        self.owned = zygote is None

    def get(self):
        from grader.sandbox.spawn import Zygote

        if self.owned and self.current is not None and not self.current.alive():
            self.discard()
        if self.current is None:
            self.current = Zygote()
        return self.current

    def discard(self) -> None:
        if not self.owned:
            return
        zygote, self.current = self.current, None
        if zygote is not None:
            with contextlib.suppress(Exception):
                zygote.close()

    def kill(self) -> None:
        """From a signal handler: the zygote and the workers it forked, without waiting."""
        if self.current is not None:
            self.current.kill()


# pytest's built-in plugins that grading has no use for; each costs start-up time, and
# unraisableexception/threadexception run gc.collect() twice per session.
_UNUSED_PLUGINS = ("cacheprovider", "unraisableexception", "threadexception", "doctest", "junitxml",
                   "pastebin", "stepwise", "faulthandler", "legacypath", "logging", "warnings",
                   "setuponly", "setupplan", "unittest", "debugging")


def _pytest_session(files: list[Path], plugin, select: str = "") -> tuple[int, str]:
    """Run real pytest on the test files with the grading plugin; (exit status, output).
    `select`: a -k expression."""
    import pytest

    args = [*map(str, files), "-q", "--no-header", "--disable-plugin-autoload",
            *(arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")),
            "--assert=plain", "--tb=no", "--capture=no",  # tests print nothing; students print in the worker
            "--import-mode=importlib", "-c", os.devnull, "--rootdir", str(files[0].parent),
            "--confcutdir", str(files[0].parent), "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *([f"-k{select}"] if select else [])]  # joined: an expression may start with "-"
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            status = pytest.main(args, plugins=[plugin])
    finally:
        _forget_modules(files)
    return int(status), sink.getvalue()


def _forget_modules(files: list[Path]) -> None:
    """Drop the test modules pytest imported, so the next grading in this process (another
    exercise with a file of the same name, or another copy of the course) imports its own."""
    paths = {str(f) for f in files} | {str(f.resolve()) for f in files}
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) in paths:
            del sys.modules[name]
