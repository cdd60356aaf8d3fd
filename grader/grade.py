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
from pathlib import Path
from typing import Callable, Iterable

from grader.course import Course, Exercise
from grader import i18n
from grader.errors import (CourseTestError, MissingDependency, NothingToGrade,
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
    grader.session); call `on_graded(submission, report)` as each finishes.

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
    from grader.session import GradingSession

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
    try:
        session = GradingSession(exercise, files, reference, zygotes=zygotes,
                                 retries=retries, on_slow=on_slow, select=select)
        session.grade_each(submissions, on_graded)
    finally:
        if zygotes.owned:
            zygotes.discard()


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
