"""`grade new`: in a copy of the course, a new exercise passes build, validate and mutants
as written; its course.yml entry is added to the text, comments and all; an id or a
module that would clash is refused before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.course import load_course
from grader.errors import CourseError
from grader.grade import grade
from grader.mutants import overlay
from grader.scaffold import with_entry
from tests.conftest import ROOT, copy_course


def run(course: Path, *args: str):
    return CliRunner().invoke(main, [*args, "--course", str(course)])


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A copy of the course after `grade new demo` and `grade build demo`."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    before = (course / "course.yml").read_text()
    made = run(course, "new", "demo")
    assert made.exit_code == 0, made.output
    assert (course / "course.yml").read_text().startswith(before)  # appended: every comment kept
    built = run(course, "build", "demo")
    assert built.exit_code == 0, built.output
    return course


def test_a_new_exercise_validates_and_its_mutant_is_caught_and_named(demo):
    validated = run(demo, "validate", "demo")
    assert validated.exit_code == 0 and "course is valid" in validated.stdout, validated.output
    mutants = run(demo, "mutants", "demo")
    assert mutants.exit_code == 0, mutants.output
    assert "demo: mutants caught 1/1, named 1/1; correct variants with full marks 1/1" in mutants.stdout
    ex = load_course(demo).exercise("demo")
    assert (ex.module, ex.functions, ex.points) == ("demo.py", ("scale_forward", "scale_backward"), 5)
    # the course asks for 6 mutants and 2 variants; the new entry asks for what it has
    assert (ex.catalogue.min_mutants, ex.catalogue.min_variants) == (1, 1)
    assert load_course(demo).catalogue == load_course(ROOT).catalogue


def test_the_new_exercise_has_an_oracle_that_passes(demo):
    oracle = demo / "solutions" / "demo" / "oracle.py"
    assert pytest.main([str(oracle), "-q", "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(demo),
                        "--import-mode=importlib"]) == pytest.ExitCode.OK


@pytest.mark.parametrize("forward, backward, points", [
    ("    return x + a, a\n", "    return dout\n", 2),      # dx is exactly the gradient of x + a: kept
    ("    return 0 * x, a\n", "    return 0 * dout\n", 0),  # a forward that ignores x proves nothing
], ids=["consistent", "vacuous"])
def test_a_backward_consistent_with_a_wrong_forward_keeps_its_points(demo, tmp_path, forward, backward, points):
    """One mistake, one deduction, in the template's backward test."""
    ex = load_course(demo).exercise("demo")
    wrong = "def scale_forward(x, a):\n" + forward + "\n\ndef scale_backward(dout, cache):\n" + backward
    submission = tmp_path / "demo.py"
    submission.write_text(overlay((ex.solution_dir / ex.module).read_text(), wrong))
    report = grade(load_course(demo), "demo", submission)
    by_function = {}
    for t in report.tests:
        by_function[t.function] = by_function.get(t.function, 0) + t.points
    assert by_function == {"scale_forward": 0, "scale_backward": points}, report.tests


def test_names_from_the_options_run_through_every_file(tmp_path):
    course = copy_course(tmp_path)
    made = run(course, "new", "relu_ex", "--module", "relu.py", "--function", "relu_forward",
               "--function", "relu_backward", "--title", 'ReLU "layers" \\ and more')
    assert made.exit_code == 0, made.output
    assert run(course, "build", "relu_ex").exit_code == 0
    validated = run(course, "validate", "relu_ex")
    assert validated.exit_code == 0, validated.output
    ex = load_course(course).exercise("relu_ex")
    assert (ex.module, ex.functions, ex.title) == ("relu.py", ("relu_forward", "relu_backward"),
                                                   'ReLU "layers" \\ and more')
    text = "".join(p.read_text() for p in ex.solution_dir.rglob("*.py"))
    assert "scale_forward" not in text and "scale_backward" not in text and "$" not in text


@pytest.mark.parametrize("args, message", [
    (["exercise3"], "exercise 'exercise3' exists in"),
    (["my-exercise"], "exercise id 'my-exercise' is not a Python identifier"),
    (["class"], "exercise id 'class' is not a Python identifier"),
    (["list"], "'list' is a command of grade ('grade list' would not grade it)"),
    (["leftover"], "leftover exists though course.yml has no exercise 'leftover'"),
    (["ex5", "--module", "dropout.py"], "module dropout.py is the module of exercise3"),
    (["ex5", "--module", "numpy.py"], "would hide the Python module 'numpy'"),
    (["ex5", "--module", "random.py"], "would hide the Python module 'random'"),
    (["ex5", "--module", "test_relu.py"], "would be taken for a test file by pytest"),
    (["ex5", "--module", "relu.txt"], "must be a file name ending in .py"),
    (["ex5", "--function", "relu_forward"], "give --function twice"),
    (["ex5", "--function", "f", "--function", "f"], "is given twice"),
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
