"""The nbgrader bridge, through real nbgrader: does the gradebook agree with `grade`?

The instructor's path runs once per session in a temporary folder: `grade nbgrader build`,
`nbgrader generate_assignment`, three students' submissions (the reference code filled in;
one function with a catalogued mistake and, where a third function stays right, another
that ends its process; the untouched release), `nbgrader autograde`, `generate_feedback` and `export`. Every exported score and
every test cell's score must equal what `grade EXERCISE --submission NOTEBOOK` gives.

nbgrader needs about ten seconds to start and a kernel per notebook, so this grades
exercise3 only unless GRADER_NBGRADER_EXERCISES names others ("all" for every exercise).
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.conftest import ROOT

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader")

STUDENTS = ("alice", "bob", "carol")  # correct, partly wrong, untouched
CHEAT = "mallory"  # the untouched notebook, handed in with a fake `grader` package beside it
FAKE_NOTEBOOK = ("class Grader:\n    def __init__(self, *args, **kwargs):\n        pass\n\n"
                 "    def check(self, function, points=None):\n        print('PASS')\n        return points\n")
NOISE = ("import sys, warnings\nwarnings.simplefilter('always')\n"
         "warnings.warn('a warning from the student')\nprint('noise on stderr', file=sys.stderr)")


def chosen_exercises(course) -> list[str]:
    wanted = os.environ.get("GRADER_NBGRADER_EXERCISES", "exercise3")
    return [ex.id for ex in course.exercises] if wanted == "all" else wanted.split(",")


# nbgrader runs `alembic` and the `python3` kernel from PATH: put this environment's bin/
# first, as an activated virtual environment would (CI runs .venv/bin/python unactivated).
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def nbgrader(root: Path, *args: str) -> str:
    """Run nbgrader in the nbgrader course; return what it logged (stderr)."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=ENV,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc.stderr


def grade_json(exercise: str, submission: Path) -> dict:
    result = CliRunner().invoke(main, [exercise, "--submission", str(submission), "--json",
                                       "--course", str(ROOT)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cells_by_id(nb) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def submissions(course, exercise_id: str, source, release) -> dict:
    """The three students' notebooks, made from the source and release notebooks."""
    from grader.mutants import mutants
    from grader.nbgrader import split_module

    exercise = course.exercise(exercise_id)
    solved = copy.deepcopy(release)
    for grade_id, cell in cells_by_id(solved).items():
        if cell.metadata["nbgrader"]["solution"]:
            cell.source = cells_by_id(source)[grade_id].source
    # stderr and warnings in the kernel and at import in the sandbox must cost nothing
    solved.cells.insert(2, nbformat.v4.new_code_cell(NOISE))

    partly = copy.deepcopy(solved)
    catalogue = mutants(exercise)
    wrong = catalogue[0].function if catalogue else None
    if catalogue:
        _, functions = split_module(catalogue[0].source, exercise, catalogue[0].path)
        cells_by_id(partly)[wrong].source = functions[wrong]
    others = [f for f in exercise.functions if f != wrong]
    crashing = others[-1] if len(others) > 1 else None  # one function stays right: bob's score is partial
    if crashing:
        cell = cells_by_id(partly)[crashing]
        head, _, _ = cell.source.partition("### BEGIN SOLUTION")
        cell.source = head + "import os\n    os._exit(3)  # ends the process: in nbgrader's kernel, every cell after it"
    return {"alice": solved, "bob": partly, "carol": release, CHEAT: release}, crashing


@pytest.fixture(scope="module")
def instructor_path(tmp_path_factory, course):
    """Run the whole nbgrader path once; return what the tests look at."""
    root = tmp_path_factory.mktemp("nbgrader_course")
    exercises = chosen_exercises(course)
    result = CliRunner().invoke(main, ["nbgrader", "build", str(root), *exercises, "--course", str(ROOT)])
    assert result.exit_code == 0, result.output
    nbgrader(root, "generate_assignment", "*" if len(exercises) > 1 else exercises[0])
    crashing = {}
    for ex in exercises:
        source = nbformat.read(root / "source" / ex / f"{ex}.ipynb", as_version=4)
        release = nbformat.read(root / "release" / ex / f"{ex}.ipynb", as_version=4)
        notebooks, crashing[ex] = submissions(course, ex, source, release)
        for student, nb in notebooks.items():
            path = root / "submitted" / student / ex / f"{ex}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
        fake = root / "submitted" / CHEAT / ex / "grader"
        fake.mkdir()
        (fake / "__init__.py").write_text("")
        (fake / "notebook.py").write_text(FAKE_NOTEBOOK)
    autograde_log = nbgrader(root, "autograde", "*" if len(exercises) > 1 else exercises[0])
    nbgrader(root, "generate_feedback", "*" if len(exercises) > 1 else exercises[0])
    nbgrader(root, "export")
    with open(root / "grades.csv", newline="") as f:
        exported = {(row["assignment"], row["student_id"]): row for row in csv.DictReader(f)}
    reports = {(ex, s): grade_json(ex, root / "submitted" / s / ex / f"{ex}.ipynb")
               for ex in exercises for s in STUDENTS}
    return {"root": root, "exercises": exercises, "exported": exported, "reports": reports,
            "crashing": crashing, "autograde_log": autograde_log}


def test_autogrades_warnings_are_the_documented_checksum_warnings_of_test_cells(instructor_path):
    """docs/instructors-nbgrader.md tells instructors these are expected: one per test cell."""
    warnings = [line for line in instructor_path["autograde_log"].splitlines()
                if line.startswith("[AutogradeApp | WARNING]")]
    expected = re.compile(r"\[AutogradeApp \| WARNING\] Attribute 'checksum' for cell test_\w+ has changed!")
    assert warnings and all(expected.match(line) for line in warnings), "\n".join(warnings)


def test_exported_grades_equal_grade_scores(instructor_path):
    for (ex, student), report in instructor_path["reports"].items():
        row = instructor_path["exported"][(ex, student)]
        assert float(row["score"]) == pytest.approx(report["score"], abs=1e-9), (ex, student)
        assert float(row["max_score"]) == pytest.approx(report["max_score"], abs=1e-9), (ex, student)


def test_grade_batch_on_nbgraders_submitted_folder_gives_the_same_scores(instructor_path, tmp_path):
    """The documented authoritative path reads the same notebooks without a kernel; typed
    as documented, inside the nbgrader course (its grader_course.json names the course)."""
    for ex in instructor_path["exercises"]:
        out = tmp_path / f"{ex}.csv"
        proc = subprocess.run([sys.executable, "-m", "grader", "batch", ex, "submitted/", "--out", str(out)],
                              cwd=instructor_path["root"], env={**ENV, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
        with open(out, newline="") as f:
            rows = {row["student_id"]: row for row in csv.DictReader(f)}
        assert sorted(rows) == sorted([*STUDENTS, CHEAT])
        assert float(rows[CHEAT]["score"]) == 0
        for student in STUDENTS:
            row = rows[student]
            assert row["error"] == ""
            exported = instructor_path["exported"][(ex, student)]
            assert float(row["score"]) == pytest.approx(float(exported["score"]), abs=1e-9), (ex, student)


def test_a_fake_grader_beside_the_notebook_fools_nbgraders_kernel_but_not_grade(instructor_path):
    """What the README warns about: the kernel imports the student's `grader/` first."""
    for ex in instructor_path["exercises"]:
        exported = instructor_path["exported"][(ex, CHEAT)]
        assert float(exported["score"]) == float(exported["max_score"]) > 0
        report = grade_json(ex, instructor_path["root"] / "submitted" / CHEAT)
        assert report["score"] == 0


def test_the_three_students_span_full_partial_and_zero(instructor_path):
    for ex in instructor_path["exercises"]:
        scores = {s: instructor_path["reports"][(ex, s)]["score"] for s in STUDENTS}
        full = instructor_path["reports"][(ex, "alice")]["max_score"]
        assert scores["alice"] == full and scores["carol"] == 0, (ex, scores)
        assert 0 < scores["bob"] < full, (ex, scores)


def test_every_test_cell_scores_its_functions_tests(instructor_path):
    """A crash in one function zeroes only the cells of the tests it breaks."""
    from nbgrader.api import Gradebook

    root = instructor_path["root"]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for (ex, student), report in instructor_path["reports"].items():
            notebook = gb.find_submission_notebook(ex, ex, student)
            cells = {g.name: g for g in notebook.grades}
            assert set(cells) == {f"test_{t['function']}" for t in report["tests"]}
            for name, cell in cells.items():
                tests = [t for t in report["tests"] if f"test_{t['function']}" == name]
                assert cell.max_score == pytest.approx(sum(t["max_points"] for t in tests))
                assert cell.auto_score == pytest.approx(sum(t["points"] for t in tests)), (ex, student, name)
            if student == "bob":  # nbgrader took grader.check's value as partial credit, not all or nothing
                assert any(0 < c.auto_score < c.max_score for c in cells.values()), (ex, "bob")
            crashing = instructor_path["crashing"][ex]
            if student == "bob":
                if crashing:
                    assert cells[f"test_{crashing}"].auto_score < cells[f"test_{crashing}"].max_score
                assert any(c.auto_score == c.max_score > 0 for c in cells.values()), (ex, "bob")


def test_test_cells_print_feedback_and_nothing_on_stderr(instructor_path):
    root = instructor_path["root"]
    for ex in instructor_path["exercises"]:
        for student in STUDENTS:
            nb = nbformat.read(root / "autograded" / student / ex / f"{ex}.ipynb", as_version=4)
            for grade_id, cell in cells_by_id(nb).items():
                if not cell.metadata["nbgrader"]["grade"]:
                    continue
                kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
                assert ("stream", "stderr") not in kinds and ("error", None) not in kinds, (student, grade_id)
                value = [o for o in cell.outputs if o.output_type == "execute_result"]
                assert len(value) == 1 and float(value[0].data["text/plain"]) >= 0
                # the feedback is the check's HTML report, headed by the function it grades
                assert f"<code>{grade_id.removeprefix('test_')}</code>" in value[0].data["text/html"]
            html = (root / "feedback" / student / ex / f"{ex}.html").read_text()
            assert "PASS" in html or "ERROR" in html
            assert "BEGIN HIDDEN TESTS" not in html and str(ROOT) not in html


def test_the_student_version_has_no_solutions_hidden_tests_or_course_path(instructor_path):
    root = instructor_path["root"]
    for ex in instructor_path["exercises"]:
        text = (root / "release" / ex / f"{ex}.ipynb").read_text()
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
        assert str(ROOT) not in text and "hidden, course = True" not in text
        assert "raise NotImplementedError" in text
        source = (root / "source" / ex / f"{ex}.ipynb").read_text()
        assert "hidden, course = True" in source and str(ROOT) in source


def test_a_student_validating_a_correct_notebook_sees_success(instructor_path):
    """The released test cells run the public tests only, found through $GRADER_COURSE."""
    ex = instructor_path["exercises"][0]
    notebook = instructor_path["root"] / "submitted" / "alice" / ex / f"{ex}.ipynb"
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)],
                          cwd=notebook.parent, capture_output=True, text=True, timeout=900,
                          env={**ENV, "GRADER_COURSE": str(ROOT)})
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout + proc.stderr[-2000:]


def test_a_cell_never_reports_more_than_its_points_nor_a_malformed_score():
    from grader.nbgrader_cell import NotGraded, credit

    passed = {"name": "f: x", "points": 3.0, "max_points": 3.0}
    failed = {"name": "f: y", "points": 0.0, "max_points": 2}
    assert type(credit([passed, {"name": "f: y", "points": 2, "max_points": 2}], 6)) is float
    assert credit([passed, failed], 6) == 3.0
    assert credit([passed, passed], 4) == 4.0
    # the student's version runs the public tests only: they share out the cell's points
    assert credit([passed, failed], 10, public_only=True) == 6.0
    assert credit([passed], 10, public_only=True) == 10.0
    for bad in ("3", None, float("nan"), -1.0, True, 4.0):
        with pytest.raises(NotGraded):
            credit([{"name": "f: z", "points": bad, "max_points": 3.0}], 4)


def test_check_in_a_folder_without_a_course_scores_zero_and_says_why(tmp_path, monkeypatch, capsys):
    from grader import nbgrader_cell

    (tmp_path / "exercise3.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(nbgrader_cell.COURSE_ENV, raising=False)
    value = nbgrader_cell.check("exercise3", "dropout_forward", 5)
    out = capsys.readouterr()
    assert value == 0.0 and type(value) is float
    assert "not graded" in out.out and "course.yml" in out.out and out.err == ""
