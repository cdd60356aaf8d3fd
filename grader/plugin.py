"""The pytest plugin that runs an exercise's tests against a sandboxed submission.

Each test carries `@pytest.mark.points(n)` and a docstring whose first line is
"<function>: <what it checks>"; that line is the test's name in the report. Tests get two
fixtures: `student` (the submission, through the sandbox proxy) and `reference`.
"""

from __future__ import annotations

import pytest

from grader.checks import CheckFailed
from grader.errors import CourseTestError
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
                "hidden": str(item.path) in self.hidden_files, "outcome": "passed", "message": ""}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        entry = self.results.get(item.nodeid)
        if entry is None or report.passed or report.skipped and call.excinfo is None:
            return
        verdict, message = _classify(call.excinfo, item)
        if _RANK[verdict] > _RANK[entry["outcome"]]:
            entry["outcome"], entry["message"] = verdict, message

    def test_results(self) -> tuple[TestResult, ...]:
        return tuple(TestResult(**self.results[nodeid]) for nodeid in self.order)


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
        message = str(exc).strip()
        return "failed", message or f"check failed: {item.function.__doc__.strip().splitlines()[0]}"
    if isinstance(exc, pytest.skip.Exception):
        return "error", f"the test was skipped: {exc}"
    # The test itself tripped over what the student's code returned (a wrong type, say).
    return "error", (f"your result could not be checked ({type(exc).__name__}: {exc}); "
                     "check the types and shapes your function returns")
