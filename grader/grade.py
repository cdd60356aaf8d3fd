"""grade(exercise, submission) -> GradeReport: the one entry point of grading."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from pathlib import Path

from grader.course import HIDDEN_TESTS, Course, Exercise
from grader.errors import CourseTestError
from grader.report import GradeReport, TestResult


def grade(course: Course, exercise_id: str, submission: Path | None = None, *,
          hidden: bool | None = None, reference=None, zygote=None) -> GradeReport:
    """Run an exercise's tests against a submission in the sandbox.

    `submission` is a folder, a module file or a notebook (default: the student's
    working copy in exercises/). Hidden tests run where solutions/ is present unless
    `hidden=False`. Raises GraderError for usage and configuration mistakes only;
    everything the student's code does ends up in the report.
    """
    from grader.sandbox.proxy import IsolationWarning, Submission, Zygote, reset_warnings
    from grader.submission import NoModule, locate, notebook_source

    exercise = course.exercise(exercise_id)
    path = exercise.student_dir if submission is None else Path(submission)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grader-")))
        try:
            module_file, missing = locate(exercise, path), ""
            if module_file.suffix == ".ipynb":
                code = notebook_source(module_file)
                module_file = scratch / exercise.module
                module_file.write_text(code, encoding="utf-8", errors="replace")
        except NoModule as exc:
            module_file, missing = None, str(exc)
        if zygote is None and module_file is not None:
            zygote = Zygote()  # starts now, in parallel with collecting the tests
            stack.callback(zygote.close)
        reset_warnings()  # every report carries the sandbox's warnings, not only the first
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always", IsolationWarning)
        student = stack.enter_context(
            Submission(exercise, module_file, zygote=zygote, missing_reason=missing))
        results = run_tests(exercise, student, reference=reference,
                            hidden=exercise.has_solutions if hidden is None else hidden)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, IsolationWarning))
    return GradeReport(exercise=exercise.id, tests=results, output=student.output, warnings=notes)


# pytest's built-in plugins that grading has no use for; each costs start-up time, and
# unraisableexception/threadexception run gc.collect() twice per session.
_UNUSED_PLUGINS = ("cacheprovider", "unraisableexception", "threadexception", "doctest", "junitxml",
                   "pastebin", "stepwise", "faulthandler", "legacypath", "logging", "warnings",
                   "setuponly", "setupplan")


def run_tests(exercise: Exercise, student, *, reference=None, hidden: bool) -> tuple[TestResult, ...]:
    """Run the exercise's test files under real pytest with the grading plugin."""
    import pytest

    from grader.plugin import GradingPlugin
    from grader.reference import Reference

    if reference is None:
        reference = Reference.for_exercise(exercise)
    files = exercise.test_files(hidden=hidden)
    missing = [f for f in files if not f.is_file()]
    if missing or not files:
        raise CourseTestError(f"test file {missing[0] if missing else exercise.id} is missing; "
                              "rebuild the exercises with 'grade build'")
    plugin = GradingPlugin(exercise, student, reference,
                           hidden_files=[f for f in files if f.name == HIDDEN_TESTS])
    args = [*map(str, files), "-q", "--no-header", "--disable-plugin-autoload",
            *(arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")),
            "--assert=plain", "--tb=no",
            "--import-mode=importlib", "-c", os.devnull, "--rootdir", str(files[0].parent),
            "--confcutdir", str(files[0].parent), "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            status = pytest.main(args, plugins=[plugin])
    finally:
        _forget_modules(files)
    if plugin.sandbox_failures:
        raise plugin.sandbox_failures[0]  # not the student's doing: no report, so a batch retries
    if plugin.collection_errors:
        raise CourseTestError(f"the tests of {exercise.id} are broken: {plugin.collection_errors[0]}")
    if status == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt  # pytest swallowed Ctrl-C; a half-run grading is no grading
    results = plugin.test_results()
    if not results:
        raise CourseTestError(f"no tests were collected for {exercise.id}:\n{sink.getvalue()[-2000:]}")
    return results


def _forget_modules(files: list[Path]) -> None:
    """Drop the test modules pytest imported, so the next grading in this process (another
    exercise with a file of the same name, or another copy of the course) imports its own."""
    paths = {str(f) for f in files} | {str(f.resolve()) for f in files}
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) in paths:
            del sys.modules[name]
