"""`grade new`: in a copy of the course, a new exercise passes build, validate and mutants
as written; its course.yml entry is added to the text, comments and all; an id or a
module that would clash is refused before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.course import Catalogue, load_course
from grader.errors import CourseError
from grader.grade import grade
from grader.mutants import overlay
from grader.scaffold import with_entry
from tests.conftest import ROOT, copy_course


COURSE_EXERCISES = load_course(ROOT).exercises
DEMO = next(name for name in ("demo", *(f"demo{n}" for n in range(2, 99)))  # one the course lacks
            if name not in [ex.id for ex in COURSE_EXERCISES])


def run(course: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--course", str(course)])


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A copy of the course after `grade new demo` and `grade build demo`."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    before = (course / "course.yml").read_text()
    made = run(course, "new", DEMO)
    assert made.exit_code == 0, made.output
    assert (course / "course.yml").read_text().startswith(before)  # appended: every comment kept
    built = run(course, "build", DEMO)
    assert built.exit_code == 0, built.output
    return course


def test_a_new_exercise_validates_and_its_mutant_is_caught_and_named(demo):
    validated = run(demo, "validate", DEMO)
    assert validated.exit_code == 0 and "course is valid" in validated.stdout, validated.output
    mutants = run(demo, "mutants", DEMO)
    assert mutants.exit_code == 0, mutants.output
    assert f"{DEMO}: mutants caught 1/1, named 1/1; correct variants with full marks 1/1" in mutants.stdout
    ex = load_course(demo).exercise(DEMO)
    assert (ex.module, ex.functions, ex.points) == (f"{DEMO}.py", ("scale_forward", "scale_backward"), 5)
    # where the course asks for more, the new entry asks for what it has: one of each
    course = load_course(ROOT).catalogue
    lowered = course.min_mutants > 1 or course.min_variants > 1
    assert ex.catalogue == (Catalogue(min_mutants=1, min_variants=1) if lowered else course)
    assert load_course(demo).catalogue == course


def test_validate_says_once_that_a_stale_stub_is_not_checked(demo):
    """A stub changed after the build (a student's work, an old build) makes validate fail
    on the drift, with one line for the stub check it then skips, not one per test."""
    stub = demo / "exercises" / DEMO / f"{DEMO}.py"
    before = stub.read_text()
    stub.write_text(before.replace("raise NotImplementedError", "return 0.0, None", 1))
    try:
        validated = run(demo, "validate", DEMO)
    finally:
        stub.write_text(before)
    assert validated.exit_code == 1, validated.output
    lines = validated.stdout.splitlines()
    assert lines == [f"FAIL exercises/{DEMO}/{DEMO}.py is out of sync with solutions/ (run 'grade build')",
                     f"FAIL {DEMO}: the untouched stub is not checked until exercises/ is in sync "
                     "(run 'grade build', then validate again)"], lines
    assert run(demo, "validate", DEMO).exit_code == 0  # restored: in sync, and the stub is checked again


def test_the_new_exercise_has_an_oracle_that_passes(demo):
    oracle = demo / "solutions" / DEMO / "oracle.py"
    assert pytest.main([str(oracle), "-q", "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(demo),
                        "--import-mode=importlib"]) == pytest.ExitCode.OK


@pytest.mark.parametrize("forward, backward, points", [
    ("    return x + a, a\n", "    return dout\n", 2),      # dx is exactly the gradient of x + a: kept
    ("    return 0 * x, a\n", "    return 0 * dout\n", 0),  # a forward that ignores x proves nothing
], ids=["consistent", "vacuous"])
def test_a_backward_consistent_with_a_wrong_forward_keeps_its_points(demo, tmp_path, forward, backward, points):
    """One mistake, one deduction, in the template's backward test."""
    ex = load_course(demo).exercise(DEMO)
    wrong = "def scale_forward(x, a):\n" + forward + "\n\ndef scale_backward(dout, cache):\n" + backward
    submission = tmp_path / ex.module
    submission.write_text(overlay((ex.solution_dir / ex.module).read_text(), wrong))
    report = grade(load_course(demo), DEMO, submission)
    by_function = {}
    for t in report.tests:
        by_function[t.function] = by_function.get(t.function, 0) + t.points
    assert by_function == {"scale_forward": 0, "scale_backward": points}, report.tests
    kept = [t for t in report.tests if t.function == "scale_backward" and t.points]
    assert all("exact gradient of your scale_forward" in t.message for t in kept)  # the note says why


def test_names_from_the_options_run_through_every_file(tmp_path):
    course = copy_course(tmp_path)
    made = run(course, "new", "named_ex", "--module", "named_layer.py", "--function", "layer_forward",
               "--function", "layer_backward", "--title", 'ReLU "layers" \\ and more')
    assert made.exit_code == 0, made.output
    assert run(course, "build", "named_ex").exit_code == 0
    validated = run(course, "validate", "named_ex")
    assert validated.exit_code == 0, validated.output
    ex = load_course(course).exercise("named_ex")
    assert (ex.module, ex.functions, ex.title) == ("named_layer.py", ("layer_forward", "layer_backward"),
                                                   'ReLU "layers" \\ and more')
    text = "".join(p.read_text() for p in ex.solution_dir.rglob("*.py"))
    assert "scale_forward" not in text and "scale_backward" not in text and "$" not in text


@pytest.mark.parametrize("args, message", [
    ([COURSE_EXERCISES[0].id], f"exercise '{COURSE_EXERCISES[0].id}' exists in"),
    (["my-exercise"], "exercise id 'my-exercise' is not a Python identifier"),
    (["class"], "exercise id 'class' is not a Python identifier"),
    (["list"], "'list' is a command of grade ('grade list' would not grade it)"),
    (["leftover"], "leftover exists though course.yml has no exercise 'leftover'"),
    (["refused_ex", "--module", COURSE_EXERCISES[0].module],
     f"module {COURSE_EXERCISES[0].module} is the module of {COURSE_EXERCISES[0].id}"),
    (["refused_ex", "--module", "numpy.py"], "would hide the Python module 'numpy'"),
    (["refused_ex", "--module", "random.py"], "would hide the Python module 'random'"),
    (["refused_ex", "--module", "test_relu.py"], "would be taken for a test file by pytest"),
    (["refused_ex", "--module", "relu.txt"], "must be a file name ending in .py"),
    (["refused_ex", "--function", "relu_forward"], "give --function twice"),
    (["refused_ex", "--function", "f", "--function", "f"], "is given twice"),
])
def test_a_clash_is_refused_in_one_line_and_nothing_is_written(tmp_path, args, message):
    course = copy_course(tmp_path)
    (course / "solutions" / "leftover").mkdir()
    before = (course / "course.yml").read_text()
    folders = sorted(p.name for p in (course / "solutions").iterdir())
    result = run(course, "new", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1 and message in result.stderr
    assert (course / "course.yml").read_text() == before
    assert sorted(p.name for p in (course / "solutions").iterdir()) == folders


COURSE = """\
# my course
schema_version: 1
exercises:          # the list
- id: a             # first
  title: A
  module: a.py
  points: 1
  functions: [f]

# exercise b comes next year
limits:
  call_seconds: 5   # slow machines
"""

ENTRY = "id: b\ntitle: B\nmodule: b.py\npoints: 2\nfunctions: [g]"


def test_the_entry_goes_after_the_last_exercise_in_the_list_s_own_style(tmp_path):
    text = with_entry(COURSE, ENTRY, tmp_path / "course.yml")
    assert text == COURSE.replace("  functions: [f]\n", "  functions: [f]\n- id: b\n  title: B\n  module: b.py\n"
                                  "  points: 2\n  functions: [g]\n")
    (tmp_path / "course.yml").write_text(text)
    assert [ex.id for ex in load_course(tmp_path).exercises] == ["a", "b"]
    indented = COURSE.replace("- id", "  - id").replace("\n  title", "\n    title").replace(
        "\n  module", "\n    module").replace("\n  points", "\n    points").replace("\n  functions", "\n    functions")
    assert "\n  - id: b\n    title: B\n" in with_entry(indented, ENTRY, tmp_path / "course.yml")


def test_a_course_file_it_cannot_edit_safely_is_refused(tmp_path):
    with pytest.raises(CourseError, match="add the entry by hand"):
        with_entry("schema_version: 1\nexercises: [{id: a, title: A, module: a.py, points: 1, functions: [f]}]\n",
                   ENTRY, tmp_path / "course.yml")


def test_no_catalogue_line_where_the_course_asks_for_none(tmp_path):
    (tmp_path / "course.yml").write_text(COURSE)
    result = run(tmp_path, "new", "b")
    assert result.exit_code == 0, result.output
    entry = (tmp_path / "course.yml").read_text().split("- id: b\n")[1]
    assert "catalogue" not in entry and "(catalogue" not in result.stdout
    assert load_course(tmp_path).exercise("b").catalogue.min_mutants == 0
