"""Mutation testing: every catalogued common mistake loses points on a test of the function
it breaks and gets a message that names it; every correct variant gets full marks.

A mutant that survives is either a missing test (strengthen the tests) or equivalent to a
correct solution (remove it and say why). A variant that loses points is a grader bug.
"""

from __future__ import annotations

import ast

import pytest

from grader.course import load_course
from grader.grade import grade
from grader.mutants import judge, mutants, variants, written
from grader.sandbox.proxy import Zygote
from tests.conftest import ROOT

COURSE = load_course(ROOT)
MUTANTS = [m for ex in COURSE.exercises for m in mutants(ex)]
VARIANTS = [(ex.id, path) for ex in COURSE.exercises for path in variants(ex)]


@pytest.fixture(scope="module")
def zygote():
    z = Zygote()
    yield z
    z.close()


def test_each_exercise_has_six_mutants_and_two_variants():
    for ex in COURSE.exercises:
        assert len(mutants(ex)) >= 6, ex.id
        assert len(variants(ex)) >= 2, ex.id


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.exercise}-{m.name}" for m in MUTANTS])
def test_mutant_holds_only_what_it_changes(mutant):
    """A catalogued mutant is an overlay: each function it defines differs from the
    reference's (a full copy would load, but hides its one mistake among copied lines)."""
    exercise = COURSE.exercise(mutant.exercise)
    reference = {n.name: n for n in ast.parse((exercise.solution_dir / exercise.module).read_text()).body
                 if isinstance(n, ast.FunctionDef)}
    for node in ast.parse(mutant.path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name in reference:
            assert code(node) != code(reference[node.name]), \
                f"{mutant.path} copies {node.name} unchanged from the reference: delete it there"


def code(function: ast.FunctionDef) -> str:
    """A function's code without its docstring."""
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    return "\n".join(ast.dump(statement) for statement in body) + ast.dump(function.args)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.exercise}-{m.name}" for m in MUTANTS])
def test_mutant_is_caught_and_named(mutant, zygote):
    verdict = judge(COURSE, mutant, zygote=zygote)
    assert verdict.caught, f"mutant {mutant.name} ({mutant.description}) survived: no test of " \
                           f"{mutant.function} lost points"
    assert verdict.named, f"mutant {mutant.name} ({mutant.description}) is not named: no failing " \
                          f"test says {mutant.diagnosis!r}; messages: {verdict.messages}"


@pytest.mark.parametrize("exercise_id, path", VARIANTS, ids=[f"{e}-{p.stem}" for e, p in VARIANTS])
def test_correct_variant_gets_full_marks(exercise_id, path, zygote):
    report = grade(COURSE, exercise_id, path, zygote=zygote)
    lost = [(t.name, t.message) for t in report.tests if t.outcome != "passed"]
    assert not lost and report.score == report.max_score


def test_mutants_are_named_in_a_student_release_too(tmp_path, zygote):
    """The diagnoses live in the public tests, so students get them without solutions/."""
    import shutil
    from tests.conftest import copy_course
    release = copy_course(tmp_path / "release")
    shutil.rmtree(release / "solutions")
    course = load_course(release)
    named = 0
    with written(MUTANTS) as files:
        for m in MUTANTS:
            report = grade(course, m.exercise, files[m], zygote=zygote)
            named += any(m.diagnosis.lower() in t.message.lower() for t in report.tests if t.outcome != "passed")
    assert named == len(MUTANTS), f"only {named} of {len(MUTANTS)} mutants named in a release"
