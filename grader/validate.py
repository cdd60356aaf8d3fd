"""The course's own CI check: everything a release needs to be sound."""

from __future__ import annotations

import re

from grader.build import out_of_sync
from grader.course import Course, Exercise
from grader.errors import CourseError
from grader.grade import grade
from grader.mutants import mutants, variants


def validate(course: Course, exercise_ids: list[str] | None = None, *,
             progress=lambda message: None) -> list[str]:
    """Problems found (empty when the course is sound)."""
    stale = out_of_sync(course, exercise_ids)
    problems = [f"{path} is out of sync with solutions/ (run 'grade build')" for path in stale]
    for ex in [course.exercise(i) for i in exercise_ids] if exercise_ids else course.exercises:
        progress(f"validating {ex.id}")
        problems += _unsalted_seeds(ex)
        problems += _unused_mistakes(ex)
        problems += _catalogue(ex)
        ref = grade(course, ex.id, ex.solution_dir / ex.module, hidden=True)
        if ref.max_score != ex.points:
            problems.append(f"{ex.id}: the tests' points add up to {ref.max_score:g}, "
                            f"course.yml says {ex.points:g}")
        for t in ref.tests:
            if t.outcome != "passed":
                problems.append(f"{ex.id}: the reference solution fails {t.name!r}: {t.message}")
        if any((course.root / path).is_relative_to(ex.student_dir) for path in stale):
            problems.append(f"{ex.id}: the untouched stub is not checked until exercises/ is in sync "
                            "(run 'grade build', then validate again)")  # one line, not one per test
            continue
        stub = grade(course, ex.id, ex.student_dir, hidden=True)
        for t in stub.tests:
            if t.outcome != "error" or not t.not_implemented:
                problems.append(f"{ex.id}: the untouched stub gets {t.outcome!r} on {t.name!r} "
                                f"instead of a 'not implemented yet' error")
        if stub.score != 0:
            problems.append(f"{ex.id}: the untouched stub scores {stub.score:g}, not 0")
    return problems


def _catalogue(exercise: Exercise) -> list[str]:
    """At least as many mutants and variants as course.yml's `catalogue` asks for, and every
    mutant loads (`grade mutants` proves that each is caught and named)."""
    try:
        counts = {"mutants": len(mutants(exercise)), "variants": len(variants(exercise))}
    except CourseError as exc:
        return [f"{exercise.id}: {exc}"]
    wanted = {"mutants": exercise.catalogue.min_mutants, "variants": exercise.catalogue.min_variants}
    return [f"{exercise.id}: solutions/{exercise.id}/{kind}/ holds {counts[kind]}; course.yml's "
            f"catalogue asks for at least {wanted[kind]} (min_{kind})"
            for kind in counts if counts[kind] < wanted[kind]]


_FIXED_SEED = re.compile(r"np\.random\.default_rng\((?!\))")


def _unused_mistakes(exercise) -> list[str]:
    """Entries of mistakes.yml that no test refers to (`mistake("<id>")`): feedback no student
    can get, a leftover or a misspelt id."""
    from grader.checks.mistakes import CATALOGUE, load_catalogue, used_ids

    path = exercise.solution_dir / CATALOGUE
    if not path.is_file():
        return []
    tests = "".join(p.read_text(encoding="utf-8") for p in exercise.test_files(hidden=True) if p.is_file())
    used = used_ids(tests)
    return [f"{exercise.id}: {CATALOGUE} has {key!r}, which no test uses (mistake({key!r}))"
            for key in load_catalogue(path) if key not in used]


def _unsalted_seeds(exercise) -> list[str]:
    """Test inputs drawn from a fixed seed would be the same where solutions/ is present as in
    the students' release, whose recorded answers could then be replayed (checks/inputs.py)."""
    return [f"{path.name}:{number}: draw test inputs with grader.checks.seeded(seed) (or "
            "normal_input), not np.random.default_rng(seed): a fixed seed lets a submission "
            "replay the recorded public answers"
            for path in exercise.test_files(hidden=True) if path.is_file()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if _FIXED_SEED.search(line.split("#")[0]) and not line.lstrip().startswith(("\"", "'"))]
