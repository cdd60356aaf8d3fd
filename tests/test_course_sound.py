"""The course itself: reference solutions get full marks, stubs get exactly zero cleanly,
exercises/ is in sync with solutions/, and the same submission always gets the same score."""

from __future__ import annotations

import pytest

from grader.build import out_of_sync
from grader.course import load_course
from grader.grade import grade
from tests.conftest import ROOT

EXERCISES = [ex.id for ex in load_course(ROOT).exercises]  # course.yml's, whatever they are


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_reference_solution_gets_full_marks_with_hidden_tests(course, exercise_id):
    ex = course.exercise(exercise_id)
    report = grade(course, exercise_id, ex.solution_dir / ex.module)
    failed = [(t.name, t.message) for t in report.tests if t.outcome != "passed"]
    assert not failed
    assert report.score == report.max_score == ex.points
    assert any(t.hidden for t in report.tests) and any(not t.hidden for t in report.tests)


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_untouched_stub_gets_zero_with_not_implemented_on_every_test(course, exercise_id):
    report = grade(course, exercise_id)  # the working copy in exercises/ is the stub
    assert report.score == 0 and report.max_score == course.exercise(exercise_id).points
    for t in report.tests:
        assert t.outcome == "error", t
        assert "not implemented yet" in t.message, t


def test_exercises_folder_is_in_sync_with_solutions(course):
    assert out_of_sync(course) == [], "run 'grade build' and commit exercises/"


def test_stubs_keep_signatures_and_docstrings_but_no_solution(course):
    import ast
    for ex in course.exercises:
        stub = ast.parse((ex.student_dir / ex.module).read_text())
        functions = {n.name: n for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert set(ex.functions) <= set(functions)
        for name in ex.functions:
            node = functions[name]
            assert ast.get_docstring(node), f"{ex.id}.{name} has no docstring"
            # a class (a torch module) is written in its methods: each of them ends in raise
            bodies = [node] if isinstance(node, ast.FunctionDef) else \
                [n for n in node.body if isinstance(n, ast.FunctionDef)]
            assert bodies and all(isinstance(b.body[-1], ast.Raise) for b in bodies), \
                f"{ex.id}.{name} should end in raise"
        assert "### BEGIN SOLUTION" not in (ex.student_dir / ex.module).read_text()
        assert not (ex.student_dir / "test_hidden.py").exists()


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_same_submission_same_score_twenty_times(course, exercise_id):
    """Determinism: fixed seeds everywhere, np.random seeded in the worker before each call.
    A mutant (a partly wrong submission) is the interesting case: its score must not wobble.
    Tests marked slow (experiments that train networks, seconds each) are left out of the
    twenty runs: their determinism rests on the same seeds, and the reference's full
    grading above runs them."""
    from grader.mutants import mutants, written
    from grader.sandbox.proxy import Zygote
    ex = course.exercise(exercise_id)
    mutant = mutants(ex)[0]
    zygote = Zygote()
    try:
        with written([mutant]) as files:
            runs = [grade(course, exercise_id, files[mutant], zygote=zygote, select="not slow")
                    for _ in range(20)]
    finally:
        zygote.close()
    outcomes = {tuple((t.name, t.outcome, t.message) for t in r.tests) for r in runs}
    assert len({r.score for r in runs}) == 1 and len(outcomes) == 1
