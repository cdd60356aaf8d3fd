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
from grader.mutants import mutants, variants, verdict, written
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


def test_each_exercise_has_the_catalogue_course_yml_asks_for():
    """The minimums are course.yml's `catalogue:`, a rule of grade validate."""
    from grader.validate import _catalogue
    assert [problem for ex in COURSE.exercises for problem in _catalogue(ex)] == []


def test_validate_names_a_catalogue_below_its_minimum_and_a_broken_mutant(tmp_path):
    from grader.validate import _catalogue
    (tmp_path / "course.yml").write_text(
        "schema_version: 1\ncatalogue: {min_mutants: 3, min_variants: 1}\nexercises:\n"
        "  - {id: ex, title: E, module: m.py, points: 1, functions: [f]}\n"
        "  - {id: ok, title: O, module: o.py, points: 1, functions: [f], catalogue: {min_mutants: 1, min_variants: 0}}\n")
    for ex_id, module in (("ex", "m.py"), ("ok", "o.py")):
        (tmp_path / "solutions" / ex_id / "mutants").mkdir(parents=True)
        (tmp_path / "solutions" / ex_id / module).write_text("def f(x):\n    return x\n")
        (tmp_path / "solutions" / ex_id / "mutants" / "negates.py").write_text(
            '"""negates\n\nfunction: f\nmistake: f.sign\n"""\n\n\ndef f(x):\n    return -x\n')
    course = load_course(tmp_path)
    assert _catalogue(course.exercise("ex")) == [
        "ex: solutions/ex/mutants/ holds 1; course.yml's catalogue asks for at least 3 (min_mutants)",
        "ex: solutions/ex/variants/ holds 0; course.yml's catalogue asks for at least 1 (min_variants)"]
    assert _catalogue(course.exercise("ok")) == []
    (tmp_path / "solutions" / "ok" / "mutants" / "typo.py").write_text('"""t\n\nfunction: f\nmistake: f.t\n"""\n'
                                                                    "def g(x):\n    return x\n")
    (problem,) = _catalogue(course.exercise("ok"))
    assert problem.startswith("ok: ") and "typo.py, line 6: g is not a function of the reference" in problem


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


def fast_verdict(course, mutant, zygote, *, hidden=True):
    """The mutant's verdict from the tests not marked slow (exercise6's experiments train
    networks for seconds); graded in full only when those do not catch and name it. Points
    lost on some tests are lost in a full grading too, so a verdict from the fast tests holds."""
    with written([mutant]) as files:
        fast = verdict(mutant, grade(course, mutant.exercise, files[mutant], hidden=hidden, zygote=zygote,
                                     select="not slow"))
        if fast.caught and fast.named:
            return fast
        return verdict(mutant, grade(course, mutant.exercise, files[mutant], hidden=hidden, zygote=zygote))


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.exercise}-{m.name}" for m in MUTANTS])
def test_mutant_is_caught_and_named(mutant, zygote):
    verdict = fast_verdict(COURSE, mutant, zygote)
    assert verdict.caught, f"mutant {mutant.name} ({mutant.description}) survived: no test of " \
                           f"{mutant.function} lost points"
    assert verdict.named, f"mutant {mutant.name} ({mutant.description}) is not named: no failing " \
                          f"test names {mutant.mistake!r}; messages: {verdict.messages}"


@pytest.mark.parametrize("exercise_id, path", VARIANTS, ids=[f"{e}-{p.stem}" for e, p in VARIANTS])
def test_correct_variant_gets_full_marks(exercise_id, path, zygote):
    report = grade(COURSE, exercise_id, path, zygote=zygote)
    lost = [(t.name, t.message) for t in report.tests if t.outcome != "passed"]
    assert not lost and report.score == report.max_score


def test_every_mutant_is_named_in_korean_too():
    """The catalogue holds in Korean (grade mutants --lang ko): every mutant is caught and named
    by the same id, and the message that names it is in Korean, not an English fallback."""
    import re

    from grader import i18n
    from grader.mutants import summary

    with i18n.language("ko"):
        results = summary(COURSE)
    verdicts = [v for ex_verdicts, _ in results.values() for v in ex_verdicts]
    assert len(verdicts) == len(MUTANTS)
    for v in verdicts:
        assert v.caught and v.named, f"{v.mutant.exercise}/{v.mutant.name}: {v.messages}"
        assert all(re.search("[\uac00-\ud7a3]", m) for m in v.naming), f"{v.mutant.name}: {v.naming}"
    for _verdicts, correct in results.values():
        assert all(r.score == r.max_score for _, r in correct)


# Catalogued mistakes that only the hidden tests name today (SPEC wants every one named in the
# public tests too): listed here so that the list can only shrink. Open in issue 13's note.
HIDDEN_ONLY = {("exercise5", "bn_momentum_none_ignored"),  # momentum=None: checked by a hidden test only
               ("exercise5", "bn_no_track_eval_crash")}    # caught publicly, named only by a hidden test


def test_mutants_are_named_in_a_student_release_too(tmp_path, zygote):
    """The diagnoses live in the public tests, so students get them without solutions/."""
    import shutil
    from tests.conftest import copy_course
    release = copy_course(tmp_path / "release")
    shutil.rmtree(release / "solutions")
    course = load_course(release)
    unnamed = {(m.exercise, m.name) for m in MUTANTS if not fast_verdict(course, m, zygote, hidden=False).named}
    assert unnamed == HIDDEN_ONLY, f"named only with the hidden tests: {sorted(unnamed)}"
