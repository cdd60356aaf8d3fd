"""The student release: does it hold nothing secret, and does it grade on its own?

`grade release` runs once per session into a temporary folder. "Secret" is every
substantial line (15 characters or more, not an import) of a solution block, a correct
variant, a mutant or a hidden test that does not also appear in what students get
anyway: the stub (whose docstrings give the formulas) and the public tests.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from grader.build import BEGIN, END, strip_solutions, student_files
from grader.cli import main
from grader.course import load_course
from tests.conftest import ROOT

MIN_LENGTH = 15


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("release") / "dl-exercises"
    result = CliRunner().invoke(main, ["release", str(dest), "--course", str(ROOT)])
    assert result.exit_code == 0, result.output
    return dest


def bundle_text(bundle: Path) -> dict[Path, str]:
    return {p: p.read_bytes().decode("utf-8", errors="replace") for p in bundle.rglob("*") if p.is_file()}


def substantial(lines) -> set[str]:
    out = set()
    for line in lines:
        line = line.strip()
        if len(line) >= MIN_LENGTH and not line.startswith(("import ", "from ", "#")) and line not in (BEGIN, END):
            out.add(line)
    return out


def public_text(course) -> str:
    """Every stub, every public test and the catalogued mistakes they name: students get all of
    them (the feedback also in their language, in <lang>.po, which is not counted as public:
    nothing of the hidden tests may reach it)."""
    parts = []
    for ex in course.exercises:
        module = ex.solution_dir / ex.module
        shipped = student_files(ex)  # the stub, the public tests and the mistakes they name
        parts += [strip_solutions(module.read_text(), module), *(data.decode() for name, data in shipped.items()
                                                                 if name != ex.module and name.endswith((".py", ".yml")))]  # text; not .po, not data
        if "mistakes.yml" in shipped:  # their feedback unfolded, as the translations quote it
            parts += [str(text) for text in (yaml.safe_load(shipped["mistakes.yml"]) or {}).values()]
    return "\n".join(parts)


def solution_block_lines(path: Path) -> list[str]:
    inside, out = False, []
    for line in path.read_text().splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            out.append(line)
    return out


def code_lines(path: Path) -> list[str]:
    """A module's lines without its docstrings (a mutant's docstring describes the mistake
    in the words of grader/mutants.py, which ships)."""
    tree = ast.parse(path.read_text())
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docs.update(range(body[0].lineno, body[0].end_lineno + 1))
    return [line for number, line in enumerate(path.read_text().splitlines(), 1) if number not in docs]


def secrets(exercise, public: str) -> dict[str, set[str]]:
    """What must not reach students, by where it comes from."""
    found = {"solution": substantial(solution_block_lines(exercise.solution_dir / exercise.module))}
    for kind in ("variants", "mutants"):
        for path in sorted((exercise.solution_dir / kind).glob("*.py")):
            found[f"{kind}/{path.name}"] = substantial(code_lines(path))
    hidden = exercise.solution_dir / "test_hidden.py"
    if hidden.is_file():
        text = hidden.read_text()
        found["test_hidden.py"] = substantial(text.splitlines()) | set(re.findall(r"def (test_\w+)", text))
    return {kind: {line for line in lines if line not in public} for kind, lines in found.items()}


def run_from_bundle(bundle: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m grader ...` with only the bundle's grader importable before site-packages."""
    env = {**os.environ, "PYTHONPATH": str(bundle)}
    return subprocess.run([sys.executable, *args], cwd=bundle, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_bundle_has_the_student_files_and_nothing_instructor_only(bundle, course):
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    for ex in course.exercises:
        for name in (ex.module, "test_public.py", "expected.dat"):
            assert f"exercises/{ex.id}/{name}" in names
    assert {"course.yml", "pyproject.toml", "README.md", "grader/cli.py"} <= names
    assert "grader/scaffold.py" not in names  # grade new's templates: a solution, hidden tests, a mutant
    for name in names:
        assert not name.startswith("solutions/") and "test_hidden" not in name, name
        assert "/mutants/" not in name and "/variants/" not in name, name
        assert not name.endswith((".ipynb", ".db", ".pyc")) and "nbgrader_config" not in name, name
    import tomllib
    from grader.release import pyproject as release_pyproject
    project = tomllib.loads((bundle / "pyproject.toml").read_text())["project"]
    # an extra for each package an exercise needs (exercise5: torch, pinned), none other (no dev, nbgrader)
    needs = sorted({n for ex in course.exercises for n in ex.needs})
    assert sorted(project.get("optional-dependencies", {})) == needs
    assert all(dep.startswith(f"{name}==") for name in needs for dep in project["optional-dependencies"][name])
    assert not any("torch" in dep for dep in project["dependencies"])
    assert "optional-dependencies" not in release_pyproject(()) and "torch" not in release_pyproject(())


def leaks(files: dict[Path, str], exercise, public: str) -> list[str]:
    found = []
    for kind, lines in secrets(exercise, public).items():
        for line in lines:
            where = [str(p) for p, text in files.items() if line in text]
            if where:
                found.append(f"{exercise.id} {kind}: {line!r} is in {where}")
    return found


def test_no_solution_or_hidden_test_text_is_in_the_bundle(bundle, course):
    files = {p.relative_to(bundle): text for p, text in bundle_text(bundle).items()}
    public = public_text(course)
    for ex in course.exercises:
        found = secrets(ex, public)
        assert len(found["solution"]) >= 3 and found.get("test_hidden.py"), f"{ex.id}: a vacuous check"
        assert leaks(files, ex, public) == []


def test_the_leak_check_sees_a_planted_solution_and_hidden_test(course):
    for ex in course.exercises:
        planted = {Path("grader/oops.py"): (ex.solution_dir / ex.module).read_text(),
                   Path("exercises/notes.txt"): (ex.solution_dir / "test_hidden.py").read_text()}
        kinds = {leak.split(":")[0] for leak in leaks(planted, ex, public_text(course))}
        assert {f"{ex.id} solution", f"{ex.id} test_hidden.py"} <= kinds, kinds


def test_the_bundle_imports_its_own_grader(bundle):
    result = run_from_bundle(bundle, "-c", "import grader; print(grader.__file__)")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(bundle)


@pytest.mark.parametrize("exercise_id", [ex.id for ex in load_course(ROOT).exercises])
def test_the_bundle_gives_the_reference_full_public_marks(bundle, course, exercise_id, tmp_path):
    ex = course.exercise(exercise_id)
    submission = tmp_path / ex.module
    submission.write_bytes((ex.solution_dir / ex.module).read_bytes())
    result = run_from_bundle(bundle, "-m", "grader", exercise_id, "--submission", str(submission), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["tests"] and not any(t["hidden"] for t in report["tests"])
    failed = [(t["name"], t["message"]) for t in report["tests"] if t["outcome"] != "passed"]
    assert report["score"] == report["max_score"] > 0, failed


def test_the_bundle_gives_the_stubs_zero(bundle, course):
    result = run_from_bundle(bundle, "-m", "grader", "all", "--json")
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)["exercises"]
    assert [r["exercise"] for r in reports] == [ex.id for ex in course.exercises]
    for report in reports:
        assert report["score"] == 0 < report["max_score"], report["exercise"]
        assert all(t["outcome"] == "error" for t in report["tests"]), report["exercise"]


def test_the_bundle_help_shows_only_the_students_commands(bundle):
    result = run_from_bundle(bundle, "-m", "grader", "--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1].split()
    assert {"all", "list"} <= set(commands)
    for name in ("build", "validate", "mutants", "batch", "nbgrader", "release", "gradescope", "new"):
        assert name not in commands and f"grade {name}" not in result.stdout, name
    guess = run_from_bundle(bundle, "-m", "grader", "valdate")  # hidden: not suggested either
    assert guess.returncode == 2 and "validate" not in guess.stderr
    new = run_from_bundle(bundle, "-m", "grader", "new", "exercise9")  # its templates are not there
    assert (new.returncode, new.stderr) == (2, "Error: 'grade new' is for instructors: run it in the "
                                               "course repository\n")
    listing = run_from_bundle(bundle, "-m", "grader", "list")
    assert listing.returncode == 0 and "not started" in listing.stdout
    assert "hidden tests that your instructor runs" in listing.stdout


def test_the_bundle_builds_a_wheel_of_the_grader_alone(bundle, tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-w", str(tmp_path), str(bundle)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/cli.py" in names and not any(n.startswith(("exercises/", "solutions/")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "grade = grader.cli:entry" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_release_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["release", str(tmp_path), "--course", str(ROOT)])
    assert result.exit_code == 2 and "not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_student_with_a_missing_or_edited_course_file_is_told_to_restore_it(bundle, tmp_path):
    """A release has no solutions/ and no `grade build`: a deleted expected.dat or an edited
    test_public.py is the student's to restore, and the message says so."""
    import shutil

    copy = tmp_path / "dl-exercises"
    shutil.copytree(bundle, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "exercises" / "exercise3" / "expected.dat").unlink()
    tests = copy / "exercises" / "exercise2" / "test_public.py"
    tests.write_text(tests.read_text() + "\nbroken(\n")
    for exercise, words in (("exercise3", "expected.dat is missing"), ("exercise2", "tests of exercise2 are broken")):
        result = run_from_bundle(copy, "-m", "grader", exercise)
        assert result.returncode == 2 and result.stderr.startswith("Error: "), result.stderr
        assert words in result.stderr and "restore it" in result.stderr, result.stderr
        assert "grade build" not in result.stderr


def test_the_bundle_help_names_nothing_a_student_does_not_have(bundle):
    """No solutions/, no hidden tests to skip: --public-only is not offered in a release."""
    for command in (["exercise3"], ["all"]):
        result = run_from_bundle(bundle, "-m", "grader", *command, "--help")
        assert result.returncode == 0, result.stderr
        assert "solutions/" not in result.stdout and "--public-only" not in result.stdout, result.stdout
