"""The pytest plugin that runs an exercise's tests against sandboxed submissions.

Each test carries `@pytest.mark.points(n)` and a docstring whose first line is
"<function>: <what it checks>"; that line is the test's name in the report. Tests get two
fixtures: `student` (the submission, through the sandbox proxy) and `reference`.

The plugin replaces pytest's run loop: the items are collected once, then `each` is given
a function that runs every item against one submission and returns its results, and
calls it once per submission. Each item goes through pytest's own
`pytest_runtest_protocol` (setup, call, teardown, fixtures torn down after the last item),
so a submission sees exactly what a fresh session would show it; before every submission
but the first, each test module's code runs again in its namespace, so no state of a test
module (a list a test appends to, a cache) carries over from one submission to the next.
Tests whose collected objects could carry state (parametrized tests, fixtures with params,
test classes, default arguments) are not re-run: `each` is told, and grades one
submission per session.

`-k EXPRESSION` selects tests as in pytest; besides a test's own name, its module and its
markers, it matches the name of the function the test grades. Only the selected tests are
graded and reported.
"""

from __future__ import annotations

import contextlib

import pytest

from grader.checks import CheckFailed
from grader.checks.context import set_function_under_test
from grader.checks.notes import clear_figures, clear_notes, take_figures, take_notes
from grader.errors import CourseTestError, GradingInterrupted, SandboxFailure
from grader.i18n import _
from grader.report import RANK, GradeReport, TestResult
from grader.checks.calls import InputModified
from grader.sandbox.proxy import StudentError, StudentTimeout



class GradingPlugin:
    def __init__(self, exercise, reference, each, *, hidden_files=()):
        self.exercise = exercise
        self.submission = None
        self.ref = reference
        self.each = each
        self.looped = False
        self.modules: dict = {}  # test module -> (its code once compiled, its initial dunders)
        self.loop_error: BaseException | None = None
        self.hidden_files = {str(p) for p in hidden_files}
        self.results: dict[str, dict] = {}
        self.order: list[str] = []
        self.collection_errors: list[str] = []
        self.deselected = 0  # tests left out by -k
        self.sandbox_failures: list[SandboxFailure] = []
        self.verdicts: dict[str, list[tuple[str, str, str, str]]] = {}  # per test, per phase that ran:
        # (outcome, message, the id of the catalogued mistake it names, the stub that stopped it)
        self.figures: dict[str, tuple] = {}  # per test: the figures its call attached

    @pytest.fixture
    def student(self):
        return self.submission

    @pytest.fixture
    def reference(self):
        return self.ref

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "points(n): the points a test is worth")
        config.addinivalue_line("markers", "slow: a long test (an experiment that trains a network); "
                                           "-k 'not slow' leaves it out")

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    def pytest_itemcollected(self, item):
        function = _doc_line(item).partition(":")[0]
        if function in self.exercise.functions:
            item.extra_keyword_matches.add(function)  # -k dropout_backward: the tests of that function

    def pytest_deselected(self, items):
        self.deselected += len(items)

    @pytest.hookimpl(trylast=True)  # after -k has deselected: only the selected tests are graded
    def pytest_collection_modifyitems(self, session, config, items):
        for item in items:
            marker = item.get_closest_marker("points")
            if marker is None or len(marker.args) != 1 or not isinstance(marker.args[0], (int, float)) \
                    or marker.args[0] <= 0:
                self.collection_errors.append(f"{item.nodeid} needs a marker @pytest.mark.points(n) with n > 0")
                continue
            line = _doc_line(item)
            function, _colon, what = line.partition(":")
            if function not in self.exercise.functions or not what.strip():
                self.collection_errors.append(
                    f"{item.nodeid}: the docstring's first line must be '<function>: <what it checks>' "
                    f"with a function of {self.exercise.id} ({', '.join(self.exercise.functions)})")
                continue
            self.order.append(item.nodeid)
            title = f"{function}: {_(what.strip())}"  # the name in the student's language
            self.results[item.nodeid] = {
                "name": line, "function": function, "max_points": float(marker.args[0]),
                "hidden": str(item.path) in self.hidden_files, "title": title if title != line else ""}
            self.verdicts[item.nodeid] = []

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        self.looped = bool(session.items) and not self.collection_errors and not session.testsfailed
        if self.looped:
            try:
                self.each(lambda submission: self._run_items(session, submission), _rerunnable(session.items))
            except BaseException as exc:  # noqa: BLE001 - re-raised once pytest has returned
                self.loop_error = exc
        return True

    def _run_items(self, session, submission) -> tuple[TestResult, ...]:
        items, item, finished = session.items, None, False
        self.submission = submission
        self.verdicts = {nodeid: [] for nodeid in self.order}
        self.figures = {}
        self.sandbox_failures = []
        try:
            self._fresh_modules(items)
            for item, nextitem in zip(items, [*items[1:], None]):
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            finished = True
        except KeyboardInterrupt:
            done = GradeReport(exercise=self.exercise.id, tests=self.test_results(finished_only=True))
            raise GradingInterrupted(done, total=len(self.order)) from None
        finally:
            self.submission = None
            if not finished and item is not None:
                # something escaped an item's protocol (pytest.exit, an error in a hook): tear
                # down what it set up, so the next grading in this session starts clean
                with contextlib.suppress(Exception):
                    item.ihook.pytest_runtest_teardown(item=item, nextitem=None)
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.stats.clear()  # it keeps every report: memory would grow per student
        if self.sandbox_failures:
            raise self.sandbox_failures[0]  # not the student's doing: no report (a batch retries)
        return self.test_results()

    def _fresh_modules(self, items) -> None:
        """Before every run but the first, re-run each test module's code in its own (emptied)
        namespace; the collected test functions and fixtures look their globals up there, so
        they see the fresh state. (Compiled at the second run: a single grading never pays.)"""
        for module in {item.module for item in items if getattr(item, "module", None)}:
            if module not in self.modules:  # as collected: fresh; keep what the re-runs restore
                # its dunders, and the helpers an outer pytest's assertion rewriting put there
                # (@py_builtins, @pytest_ar), which the collected test functions refer to
                self.modules[module] = (None, {k: v for k, v in vars(module).items()
                                               if k.startswith(("__", "@py"))})
                continue
            code, dunders = self.modules[module]
            if code is None:
                with open(module.__file__, "rb") as f:
                    code = compile(f.read(), module.__file__, "exec", dont_inherit=True)
                self.modules[module] = (code, dunders)
            namespace = vars(module)
            namespace.clear()
            namespace.update(dunders)
            exec(code, namespace)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        clear_notes()  # a test's notes (and figures) are its own
        clear_figures()
        set_function_under_test(self.results[item.nodeid]["function"] if item.nodeid in self.results else "")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        if call.when == "call":
            notes = take_notes()  # what a passing test has to say (cleared either way)
            self.figures[item.nodeid] = take_figures()  # shown whatever the outcome
        outcome = yield
        report = outcome.get_result()
        verdicts = self.verdicts.get(item.nodeid)
        if verdicts is None:
            return
        if report.passed:
            verdicts.append(("passed", notes, "", "") if report.when == "call" else ("setup", "", "", ""))
        else:
            if call.excinfo is not None and isinstance(call.excinfo.value, SandboxFailure):
                self.sandbox_failures.append(call.excinfo.value)
            verdicts.append(_classify(call.excinfo, item))

    def test_results(self, *, finished_only: bool = False) -> tuple[TestResult, ...]:
        """Scoring fails closed: a test passed only if its call passed and no phase failed;
        a test that never ran (an interrupted session) is an error, never a pass.
        `finished_only`: leave out the tests that have no verdict yet (after Ctrl-C)."""
        out = []
        for nodeid in self.order:
            verdicts = [v for v in self.verdicts[nodeid] if v[0] != "setup"]
            if finished_only and not verdicts:
                continue
            failures = [v for v in verdicts if v[0] != "passed"]
            mistake = stub = ""
            if failures:
                outcome, message, mistake, stub = max(failures, key=lambda v: RANK[v[0]])
            elif verdicts:  # a passing test's message: its notes, if any
                outcome, message = "passed", " ".join(v[1] for v in verdicts if v[1])
            else:
                outcome, message = "error", _("this test did not run (grading was interrupted)")
            out.append(TestResult(**self.results[nodeid], outcome=outcome, message=message, mistake=mistake,
                                  not_implemented=stub, figures=self.figures.get(nodeid, ())))
        return tuple(out)


def _doc_line(item) -> str:
    """The first line of a test's docstring: "<function>: <what it checks>"."""
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip().splitlines()
    return doc[0].strip() if doc else ""


def _rerunnable(items) -> bool:
    """Whether the collected items can run for one submission after another as if collected
    afresh: test functions of a module, without default arguments, parametrized (if at all)
    with immutable values (numbers, strings, None, and tuples and frozensets of these). pytest
    keeps what it made at collection (parametrize and fixture-param values, test-class
    instances), and a test could change a mutable one; tests that use those get a fresh
    session per submission."""
    for item in items:
        function = getattr(item, "function", None)
        callspec = getattr(item, "callspec", None)
        if function is None or getattr(item, "cls", None) is not None \
                or function.__defaults__ or function.__kwdefaults__ \
                or callspec is not None and not all(map(_immutable, callspec.params.values())):
            return False
    return True


def _immutable(value) -> bool:
    if value is None or type(value) in (bool, int, float, complex, str, bytes):
        return True
    return type(value) in (tuple, frozenset) and all(map(_immutable, value))


def _classify(excinfo, item) -> tuple[str, str, str, str]:
    """The outcome of a test that did not pass, a message a student can act on, the id of
    the catalogued mistake the message names (if any), and the function not implemented yet
    that stopped it (if that is why)."""
    if excinfo is None:
        return "error", _("the test did not run to the end"), "", ""
    exc = excinfo.value
    if isinstance(exc, StudentTimeout):
        return "timeout", str(exc), "", ""
    if isinstance(exc, StudentError):
        return "error", str(exc), "", exc.not_implemented
    if isinstance(exc, CourseTestError):
        return "error", _("the course is out of date: {problem}", problem=exc), "", ""
    if isinstance(exc, (CheckFailed, InputModified, AssertionError)):
        # drop pytest's assertion explanation where an outer pytest rewrote the test module
        message = str(exc).split("\nassert ")[0].strip()
        return ("failed", message or _("check failed: {test}", test=_(_doc_line(item).partition(":")[2].strip())),
                getattr(exc, "mistake", ""), "")
    if isinstance(exc, pytest.skip.Exception):
        return "error", _("the test was skipped: {reason}", reason=exc), "", ""
    # The test itself tripped over what the student's code returned (a wrong type, say).
    return "error", _("your result could not be checked ({error}); check the types and shapes your "
                      "function returns", error=f"{type(exc).__name__}: {exc}"), "", ""
