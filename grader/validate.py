"""The course's own CI check: everything a release needs to be sound."""

from __future__ import annotations

from grader.build import out_of_sync
from grader.course import Course
from grader.grade import grade


def validate(course: Course, exercise_ids: list[str] | None = None, *,
             progress=lambda message: None) -> list[str]:
    """Problems found (empty when the course is sound)."""
    problems = [f"{path} is out of sync with solutions/ (run 'grade build')"
                for path in out_of_sync(course, exercise_ids)]
    for ex in [course.exercise(i) for i in exercise_ids] if exercise_ids else course.exercises:
        progress(f"validating {ex.id}")
        ref = grade(course, ex.id, ex.solution_dir / ex.module, hidden=True)
        if ref.max_score != ex.points:
            problems.append(f"{ex.id}: the tests' points add up to {ref.max_score:g}, "
                            f"course.yml says {ex.points:g}")
        for t in ref.tests:
            if t.outcome != "passed":
                problems.append(f"{ex.id}: the reference solution fails {t.name!r}: {t.message}")
        stub = grade(course, ex.id, ex.student_dir, hidden=True)
        for t in stub.tests:
            if t.outcome != "error" or "not implemented" not in t.message:
                problems.append(f"{ex.id}: the untouched stub gets {t.outcome!r} on {t.name!r} "
                                f"instead of a 'not implemented yet' error")
        if stub.score != 0:
            problems.append(f"{ex.id}: the untouched stub scores {stub.score:g}, not 0")
    return problems
