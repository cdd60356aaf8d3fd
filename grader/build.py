"""solutions/ -> exercises/: the student files, their public tests and recorded answers.

A stub is the reference solution with every `### BEGIN SOLUTION` ... `### END SOLUTION`
block replaced by `raise NotImplementedError`; the signature and the docstring stay.
The public tests are copied as they are with their part of the exercise's message
catalogues (`<lang>.po`, grader/messages.py) and the data files beside them (`*.npz`, e.g. a
data set the tests train on), and `expected.dat` records the reference's
answers to every call the public tests make (see grader/reference.py), so a student
release can compare against the reference without shipping it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from grader.files import write_atomic
from grader.course import EXPECTED_VALUES, MISTAKES, PUBLIC_TESTS, Course, Exercise
from grader.errors import CourseError

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_MARKER = re.compile(r"^(\s*)### (BEGIN|END) SOLUTION\s*$")


def strip_solutions(text: str, path: Path) -> str:
    out, inside = [], None
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        match = _MARKER.match(line)
        if match and match[2] == "BEGIN":
            if inside is not None:
                raise CourseError(f"{path}:{number}: '{BEGIN}' inside another solution block")
            inside = number
            indent = match[1]
            out.append(f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError\n")
        elif match:
            if inside is None:
                raise CourseError(f"{path}:{number}: '{END}' without a '{BEGIN}' before it")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise CourseError(f"{path}:{inside}: '{BEGIN}' is never closed by '{END}'")
    return "".join(out)


def student_files(exercise: Exercise) -> dict[str, bytes]:
    """What exercises/<id>/ must hold, except the recorded answers."""
    solution = exercise.solution_dir / exercise.module
    if not solution.is_file():
        raise CourseError(f"the reference solution {solution} is missing")
    if BEGIN not in solution.read_text(encoding="utf-8"):
        raise CourseError(f"{solution} has no '{BEGIN}' block: nothing would be left for students")
    files = {exercise.module: strip_solutions(solution.read_text(encoding="utf-8"), solution).encode()}
    public = exercise.solution_dir / PUBLIC_TESTS
    if not public.is_file():
        raise CourseError(f"{public} is missing")
    files[PUBLIC_TESTS] = public.read_bytes()
    if (exercise.solution_dir / MISTAKES).is_file():  # the public tests name mistakes from it
        files[MISTAKES] = public_mistakes(exercise.solution_dir / MISTAKES, files[PUBLIC_TESTS].decode())
    from grader.messages import languages, public_part

    for lang in languages():  # the translations of what students get, nothing of the hidden tests
        part = public_part(exercise, lang, files)
        if part is not None:
            files[f"{lang}.po"] = part
    for data in sorted(exercise.solution_dir.glob("*.npz")):  # data the public tests load
        files[data.name] = data.read_bytes()
    return files


def public_mistakes(path: Path, public_tests: str) -> bytes:
    """The catalogue students get: the entries the public tests use (a mistake that only a
    hidden test names stays with the instructor, like the hidden test)."""
    import yaml

    from grader.checks.mistakes import load_catalogue, used_ids

    used = used_ids(public_tests)
    entries = {key: text for key, text in load_catalogue(path).items() if key in used}
    head = "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                   if line.startswith("#") or not line.strip()).split("\n\n")[0]
    return (head.rstrip("\n") + "\n\n" + yaml.safe_dump(entries, allow_unicode=True, width=96, sort_keys=True)).encode()


def record_expected(exercise: Exercise) -> bytes:
    """Run the public tests against the reference solution, recording the reference's answers."""
    from grader.grade import grade
    from grader.reference import Reference

    recorder = Reference(exercise, mode="record")
    course = Course(title="", root=exercise.root, exercises=(exercise,))
    report = grade(course, exercise.id, exercise.solution_dir / exercise.module, hidden=False,
                   reference=recorder)
    if report.score != report.max_score:
        failed = next(t for t in report.tests if t.outcome != "passed")
        raise CourseError(f"the reference solution of {exercise.id} fails its public test "
                          f"{failed.name!r}: {failed.message}")
    with tempfile.TemporaryDirectory() as tmp:
        recorder.save(Path(tmp) / EXPECTED_VALUES)
        return (Path(tmp) / EXPECTED_VALUES).read_bytes()


def build(course: Course, exercise_ids: list[str] | None = None) -> list[Path]:
    """Write exercises/<id>/ for the given exercises (default: all). Returns the files written."""
    written = []
    for exercise in _selected(course, exercise_ids):
        exercise.student_dir.mkdir(parents=True, exist_ok=True)
        for name, data in student_files(exercise).items():
            written.append(_write(exercise.student_dir / name, data))
        written.append(_write(exercise.student_dir / EXPECTED_VALUES, record_expected(exercise)))
    return written


def out_of_sync(course: Course, exercise_ids: list[str] | None = None) -> list[str]:
    """Files in exercises/ that differ from what `build` would write (empty when in sync)."""
    stale = []
    for exercise in _selected(course, exercise_ids):
        expected = student_files(exercise)
        files = [exercise.student_dir / name for name, data in expected.items()
                 if not (exercise.student_dir / name).is_file()
                 or (exercise.student_dir / name).read_bytes() != data]
        stale += [str(path.relative_to(course.root)) for path in files]
        if files:
            continue  # recording needs this exercise's up-to-date stub and tests
        path = exercise.student_dir / EXPECTED_VALUES
        if not path.is_file() or path.read_bytes() != record_expected(exercise):
            stale.append(str(path.relative_to(course.root)))
    return stale


def _selected(course: Course, exercise_ids):
    return [course.exercise(i) for i in exercise_ids] if exercise_ids else list(course.exercises)


def _write(path: Path, data: bytes) -> Path:
    return write_atomic(path, data)
