"""The grading session (grader.session, pytest's plugin while it grades): points markers, names, outcomes and scoring that fails closed.

Each test builds a tiny course in a temporary folder and grades it for real (sandboxed
worker, real pytest)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from grader.course import load_course
from grader.errors import CourseTestError
from grader.grade import grade, grade_each
from grader.session import GradingSession

COURSE = """\
schema_version: 1
exercises:
  - id: ex
    title: Tiny
    module: m.py
    points: 3
    functions: [f]
"""
MODULE = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"


def make_course(tmp_path, tests: str):
    (tmp_path / "course.yml").write_text(COURSE)
    for folder in ("exercises/ex", "solutions/ex"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "solutions/ex/m.py").write_text(MODULE)
    (tmp_path / "exercises/ex/m.py").write_text("def f(x):\n    raise NotImplementedError\n")
    (tmp_path / "solutions/ex/test_public.py").write_text(textwrap.dedent(tests))
    return load_course(tmp_path)


def test_outcomes_names_and_points(tmp_path):
    course = make_course(tmp_path, '''
        import pytest

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown failed")

        @pytest.mark.points(1)
        def test_ok(student):
            """f: doubles its input"""
            assert student.f(2) == 4, "f(2) should be 4"

        @pytest.mark.points(1)
        def test_wrong(student):
            """f: a check that fails"""
            assert student.f(2) == 5, "f(2) should be 5 here"

        @pytest.mark.points(1)
        def test_teardown(student, broken_teardown):
            """f: passes, but its teardown fails"""
            assert student.f(1) == 2
    ''')
    report = grade(course, "ex", tmp_path / "solutions/ex/m.py")
    by_name = {t.name: t for t in report.tests}
    assert by_name["f: doubles its input"].outcome == "passed"
    assert by_name["f: a check that fails"].outcome == "failed"
    assert by_name["f: a check that fails"].message == "f(2) should be 5 here"
    # a phase that fails after a passing call still costs the points: fail closed
    assert by_name["f: passes, but its teardown fails"].outcome == "error"
    assert report.score == 1.0 and report.max_score == 3.0


@pytest.mark.parametrize("test, words", [
    ('def test_x(student):\n    """f: no marker"""\n', "needs a marker @pytest.mark.points"),
    ('@pytest.mark.points(1)\ndef test_x(student):\n    """doubles"""\n', "docstring's first line"),
    ('@pytest.mark.points(1)\ndef test_x(student):\n    """g: unknown function"""\n', "docstring's first line"),
    ('@pytest.mark.points(-1)\ndef test_x(student):\n    """f: negative"""\n', "n > 0"),
    ("import nonexistent_module_xyz\n", "broken"),
])
def test_malformed_course_tests_are_configuration_errors(tmp_path, test, words):
    course = make_course(tmp_path, "import pytest\n\n" + test)
    with pytest.raises(CourseTestError) as info:
        grade(course, "ex", tmp_path / "solutions/ex/m.py")
    assert words in str(info.value)


def test_a_test_that_never_ran_scores_nothing(tmp_path):
    """An interrupted session leaves tests without a verdict: they are errors, not passes."""
    course = make_course(tmp_path, "")
    session = GradingSession(course.exercise("ex"), [tmp_path / "test_public.py"], None, zygotes=None)
    session.order.append("t")
    session.results["t"] = {"name": "f: x", "function": "f", "max_points": 2.0, "hidden": False}
    session.verdicts["t"] = []
    (result,) = session.test_results()
    assert result.outcome == "error" and result.points == 0 and "did not run" in result.message


def test_an_exercise_without_tests_is_a_configuration_error(tmp_path):
    course = make_course(tmp_path, "import pytest\n")
    with pytest.raises(CourseTestError, match="no tests were collected"):
        grade(course, "ex", tmp_path / "solutions/ex/m.py")


MODULE_STATE = '''
    import pytest

    SEEN = {}

    @pytest.mark.points(1)
    def test_module_state(student):
        """f: module-level state is fresh for every submission"""
        SEEN[len(SEEN)] = student.f(1)
        assert len(SEEN) == 1, "state leaked from an earlier submission"
'''

COLLECTED_STATE = MODULE_STATE + '''
    @pytest.mark.points(1)
    @pytest.mark.parametrize("box", [[]])
    def test_parameter_state(student, box):
        """f: a parametrize value is fresh for every submission"""
        box.append(student.f(1))
        assert len(box) == 1, "parameter leaked from an earlier submission"

    class TestInClass:
        seen = []

        @pytest.mark.points(1)
        def test_class_state(self, student):
            """f: class state is fresh for every submission"""
            self.seen.append(student.f(1))
            assert len(self.seen) == 1, "class state leaked from an earlier submission"
'''


IMMUTABLE_PARAMETERS = MODULE_STATE + '''
    @pytest.mark.points(1)
    @pytest.mark.parametrize("n, pair", [(1, (2, "a")), (3, (4, None))])
    def test_parametrized(student, n, pair):
        """f: doubles its argument, whatever it is"""
        assert student.f(n) == 2 * n and pair[0] > n
'''


def test_tests_parametrized_with_immutable_values_share_one_session(tmp_path):
    from grader.session import _immutable

    assert all(map(_immutable, [1, 2.5, "s", None, (1, ("a", None)), frozenset({1})]))
    assert not any(map(_immutable, [[], {}, (1, []), np.zeros(2), set()]))
    course = make_course(tmp_path, IMMUTABLE_PARAMETERS)
    sessions = []
    import grader.session as grading
    run = grading._run_pytest
    grading._run_pytest = lambda *a, **k: (sessions.append(1), run(*a, **k))[1]
    try:
        reports = []
        grade_each(course, "ex", [tmp_path / "solutions/ex/m.py"] * 3, lambda _, r: reports.append(r))
    finally:
        grading._run_pytest = run
    assert len(sessions) == 1 and all(r.score == r.max_score == 3 for r in reports)


@pytest.mark.parametrize("tests", [MODULE_STATE, COLLECTED_STATE, IMMUTABLE_PARAMETERS],
                         ids=["module", "collected", "immutable parameters"])
def test_no_state_of_the_tests_carries_over_between_submissions_in_one_session(tmp_path, tests):
    """Plain test functions run again in one session (their module's code re-run first);
    parametrized tests and test classes, whose objects pytest keeps from collection, get a
    session per submission. Either way every submission is graded as if alone."""
    course = make_course(tmp_path, tests)
    alone = grade(course, "ex", tmp_path / "solutions/ex/m.py").to_dict()
    reports = []
    grade_each(course, "ex", [tmp_path / "solutions/ex/m.py"] * 3, lambda _, r: reports.append(r))
    assert alone["score"] == alone["max_score"]
    assert [r.to_dict() for r in reports] == [alone] * 3


def test_a_test_that_stops_pytest_costs_one_submission_not_the_next(tmp_path):
    course = make_course(tmp_path, '''
        import pytest

        @pytest.mark.points(1)
        def test_a(student):
            """f: doubles 1"""
            assert student.f(1) == 2, "f(1) should be 2"

        @pytest.mark.points(1)
        def test_b(student):
            """f: doubles 2"""
            if student.module_file.name == "halt.py":
                pytest.exit("a course bug that ends pytest")
            assert student.f(2) == 4, "f(2) should be 4"
    ''')
    good, stop = tmp_path / "solutions/ex/m.py", tmp_path / "halt.py"
    stop.write_text(good.read_text())
    results = []
    grade_each(course, "ex", [stop, good], lambda path, r: results.append((path, r)), retries=1)
    assert isinstance(results[0][1], Exception) and results[0][0] == stop
    assert results[1][1].to_dict() == grade(course, "ex", good).to_dict()
    assert results[1][1].score == 2.0
