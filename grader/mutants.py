"""The catalogue of common mistakes (mutants) and of correct variants, and their verdicts.

`solutions/<id>/mutants/<name>.py` is the reference module with one common mistake. Its
docstring's first line describes the mistake; two header lines say what must happen:

    function: dropout_forward          the function it breaks: a test of it must lose points
    diagnosis: keep probability        a failing test's message must contain this (any case)

`solutions/<id>/variants/<name>.py` is a correct solution written differently; it must get
full marks. Both are instructor-only and never reach exercises/ or a release.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from grader.course import Course, Exercise
from grader.errors import CourseError


@dataclass(frozen=True)
class Mutant:
    exercise: str
    name: str
    path: Path
    description: str
    function: str
    diagnosis: str


@dataclass(frozen=True)
class MutantVerdict:
    mutant: Mutant
    caught: bool          # lost points on a test of the function it breaks
    named: bool           # a failing test's message names the mistake
    messages: tuple[str, ...]


def mutants(exercise: Exercise) -> list[Mutant]:
    out = []
    for path in sorted((exercise.solution_dir / "mutants").glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        lines = doc.splitlines()
        fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        if not lines or "function" not in fields or "diagnosis" not in fields:
            raise CourseError(f"{path}: the docstring needs a first line describing the mistake "
                              "and lines 'function: <name>' and 'diagnosis: <text>'")
        if fields["function"] not in exercise.functions:
            raise CourseError(f"{path}: function {fields['function']!r} is not in {exercise.id}")
        out.append(Mutant(exercise.id, path.stem, path, lines[0].strip(), fields["function"],
                          fields["diagnosis"]))
    return out


def variants(exercise: Exercise) -> list[Path]:
    return sorted((exercise.solution_dir / "variants").glob("*.py"))


def judge(course: Course, mutant: Mutant, *, zygote=None) -> MutantVerdict:
    from grader.grade import grade

    return verdict(mutant, grade(course, mutant.exercise, mutant.path, hidden=True, zygote=zygote))


def verdict(mutant: Mutant, report) -> MutantVerdict:
    lost = [t for t in report.tests if t.outcome != "passed"]
    caught = any(t.function == mutant.function for t in lost)
    named = any(mutant.diagnosis.lower() in t.message.lower() for t in lost)
    return MutantVerdict(mutant, caught, named, tuple(f"{t.name}: {t.message}" for t in lost))


def summary(course: Course, exercise_ids: list[str] | None = None, *, progress=lambda m: None):
    """Per exercise: (verdicts of every mutant, reports of every variant), graded in one
    pytest session per exercise."""
    from grader.grade import ZygoteKeeper, grade_each
    from grader.sandbox.proxy import Zygote

    zygote = Zygote()
    try:
        out = {}
        for ex in (course.exercise(i) for i in exercise_ids) if exercise_ids else course.exercises:
            ex_mutants, ex_variants = mutants(ex), variants(ex)
            subjects = [(f"mutant {m.name}", m.path) for m in ex_mutants] + \
                       [(f"variant {v.stem}", v) for v in ex_variants]
            reports = {}

            def each():
                for what, path in subjects:
                    progress(f"{ex.id}: {what}")
                    yield path

            def graded(path, report):
                if isinstance(report, BaseException):
                    raise report
                reports[path] = report

            grade_each(course, ex.id, each(), graded, hidden=True, zygotes=ZygoteKeeper(zygote))
            out[ex.id] = ([verdict(m, reports[m.path]) for m in ex_mutants],
                          [(v.stem, reports[v]) for v in ex_variants])
        return out
    finally:
        zygote.close()
