"""The pytest plugin that runs an exercise's tests against a sandboxed submission.

Each test carries `@pytest.mark.points(n)` and a docstring whose first line is
"<function>: <what it checks>"; that line is the test's name in the report. Tests get two
fixtures: `student` (the submission, through the sandbox proxy) and `reference`.
"""

from __future__ import annotations

import pytest

from grader.checks import CheckFailed
from grader.errors import CourseTestError, SandboxFailure
from grader.report import TestResult
from grader.sandbox.proxy import InputModified, StudentError, StudentTimeout

_RANK = {"passed": 0, "failed": 1, "error": 2, "timeout": 3}


class GradingPlugin:
    def __init__(self, exercise, submission, reference, *, hidden_files=()):
        self.exercise = exercise
        self.submission = submission
        self.ref = reference
        self.hidden_files = {str(p) for p in hidden_files}
        self.results: dict[str, dict] = {}
        self.order: list[str] = []
        self.collection_errors: list[str] = []
        self.sandbox_failures: list[SandboxFailure] = []
        self.verdicts: dict[str, list[tuple[str, str]]] = {}  # per test, per phase that ran

    @pytest.fixture
    def student(self):
        return self.submission

    @pytest.fixture
    def reference(self):
        return self.ref

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "points(n): the points a test is worth")

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, session, config, items):
        for item in items:
            marker = item.get_closest_marker("points")
            if marker is None or len(marker.args) != 1 or not isinstance(marker.args[0], (int, float)) \
                    or marker.args[0] <= 0:
                self.collection_errors.append(f"{item.nodeid} needs a marker @pytest.mark.points(n) with n > 0")
                continue
            doc = (item.function.__doc__ or "").strip().splitlines()
            function, _, what = (doc[0] if doc else "").partition(":")
            if function not in self.exercise.functions or not what.strip():
                self.collection_errors.append(
                    f"{item.nodeid}: the docstring's first line must be '<function>: <what it checks>' "
                    f"with a function of {self.exercise.id} ({', '.join(self.exercise.functions)})")
                continue
            self.order.append(item.nodeid)
            self.results[item.nodeid] = {
                "name": doc[0].strip(), "function": function, "max_points": float(marker.args[0]),
                "hidden": str(item.path) in self.hidden_files}
            self.verdicts[item.nodeid] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        verdicts = self.verdicts.get(item.nodeid)
        if verdicts is None:
            return
        if report.passed:
            verdicts.append(("passed" if report.when == "call" else "setup", ""))
        else:
            if call.excinfo is not None and isinstance(call.excinfo.value, SandboxFailure):
                self.sandbox_failures.append(call.excinfo.value)
            verdicts.append(_classify(call.excinfo, item))

    def test_results(self) -> tuple[TestResult, ...]:
        """Scoring fails closed: a test passed only if its call passed and no phase failed;
        a test that never ran (an interrupted session) is an error, never a pass."""
        out = []
        for nodeid in self.order:
            verdicts = [v for v in self.verdicts[nodeid] if v[0] != "setup"]
            failures = [v for v in verdicts if v[0] != "passed"]
            if failures:
                outcome, message = max(failures, key=lambda v: _RANK[v[0]])
            elif verdicts:
                outcome, message = "passed", ""
            else:
                outcome, message = "error", "this test did not run (grading was interrupted)"
            out.append(TestResult(**self.results[nodeid], outcome=outcome, message=message))
        return tuple(out)


def _classify(excinfo, item) -> tuple[str, str]:
    """The outcome of a test that did not pass, and a message a student can act on."""
    if excinfo is None:
        return "error", "the test did not run to the end"
    exc = excinfo.value
    if isinstance(exc, StudentTimeout):
        return "timeout", str(exc)
    if isinstance(exc, StudentError):
        return "error", str(exc)
    if isinstance(exc, CourseTestError):
        return "error", f"the course is out of date: {exc}"
    if isinstance(exc, (CheckFailed, InputModified, AssertionError)):
        # drop pytest's assertion explanation where an outer pytest rewrote the test module
        message = str(exc).split("\nassert ")[0].strip()
        return "failed", message or f"check failed: {item.function.__doc__.strip().splitlines()[0]}"
    if isinstance(exc, pytest.skip.Exception):
        return "error", f"the test was skipped: {exc}"
    # The test itself tripped over what the student's code returned (a wrong type, say).
    return "error", (f"your result could not be checked ({type(exc).__name__}: {exc}); "
                     "check the types and shapes your function returns")
