"""course.yml is read into a frozen Course; every mistake in it is a clear error."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from grader.course import load_course
from grader.errors import CourseError

GOOD = """\
schema_version: 1
exercises:
  - id: exercise3
    title: Dropout
    module: dropout.py
    points: 10
    functions: [dropout_forward]
"""


def write(tmp_path, text):
    (tmp_path / "course.yml").write_text(text)
    return tmp_path


def test_the_course_loads_into_frozen_objects(tmp_path):
    course = load_course(write(tmp_path, GOOD.replace("schema_version: 1\n", "schema_version: 1\n"
                                                      "limits: {call_seconds: 3}\n") + """\
  - id: exercise4
    title: Batch norm
    module: normalization.py
    points: 25
    functions: [batchnorm_forward, batchnorm_backward]
    mutates:
      batchnorm_forward: [running_mean, running_var]
    limits: {memory_mb: 512}
"""))
    assert [ex.id for ex in course.exercises] == ["exercise3", "exercise4"]
    ex = course.exercise("exercise4")
    assert ex.module == "normalization.py" and ex.functions == ("batchnorm_forward", "batchnorm_backward")
    assert ex.mutates == {"batchnorm_forward": ("running_mean", "running_var")}
    assert ex.limits.call_seconds == 3 and ex.limits.memory_mb == 512
    assert course.exercise("exercise3").limits.memory_mb == 1024
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.points = 3


def test_the_repository_course_loads(course):
    assert course.exercises and all(ex.has_solutions for ex in course.exercises)


def test_the_catalogue_minimums_come_from_the_course_and_each_exercise(tmp_path):
    text = GOOD.replace("schema_version: 1\n", "schema_version: 1\ncatalogue: {min_mutants: 6, min_variants: 2}\n")
    text += "  - id: demo\n    title: D\n    module: d.py\n    points: 1\n    functions: [f]\n" \
            "    catalogue: {min_mutants: 1}\n"
    course = load_course(write(tmp_path, text))
    assert (course.catalogue.min_mutants, course.catalogue.min_variants) == (6, 2)
    assert course.exercise("exercise3").catalogue == course.catalogue
    assert (course.exercise("demo").catalogue.min_mutants, course.exercise("demo").catalogue.min_variants) == (1, 2)
    assert load_course(write(tmp_path, GOOD)).exercise("exercise3").catalogue.min_mutants == 0  # optional


def test_a_minimal_course_gets_default_limits(tmp_path):
    course = load_course(write(tmp_path, GOOD))
    assert course.exercise("exercise3").limits.submission_seconds == 120


@pytest.mark.parametrize("text, words", [
    (GOOD.replace("points: 10", "points: 10\n    colour: red"), ["unknown key 'colour'", "course.yml"]),
    (GOOD.replace("    points: 10\n", ""), ["missing key 'points'", "course.yml"]),
    (GOOD.replace("schema_version: 1", "schema_version: 2"), ["schema_version", "upgrade"]),
    (GOOD.replace("schema_version: 1\n", "schema_version: 1\nlimits: {call_secs: 3}\n"),
     ["unknown key 'call_secs'"]),
    (GOOD.replace("dropout.py", "dropout.txt"), ["'module'", ".py"]),
    (GOOD + "  - id: exercise3\n    title: again\n    module: d.py\n    points: 1\n    functions: [f]\n",
     ["appears twice"]),
    (GOOD.replace("functions: [dropout_forward]", "functions: [dropout_forward]\n    mutates: {other: [x]}"),
     ["'mutates' names 'other'"]),
    (GOOD.replace("schema_version: 1\n", "schema_version: 1\ncatalogue: {min_mutant: 3}\n"),
     ["unknown key 'min_mutant' in catalogue", "min_mutants, min_variants"]),
    (GOOD + "    catalogue: {min_variants: -1}\n", ["exercise 'exercise3': catalogue", "'min_variants'"]),
    (GOOD + "    catalogue: {min_mutants: 2.5}\n", ["'min_mutants' must be a whole number"]),
    ("exercises: [\n", ["not valid YAML", "line"]),
    ("- just a list\n", ["mapping"]),
])
def test_course_errors_name_the_key_and_the_file(tmp_path, text, words):
    with pytest.raises(CourseError) as info:
        load_course(write(tmp_path, text))
    for word in words:
        assert word in str(info.value)


def test_course_is_found_by_walking_up(tmp_path, monkeypatch):
    write(tmp_path, GOOD)
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    assert load_course().root == tmp_path.resolve()


def test_no_course_is_a_one_line_error_with_exit_status_2(tmp_path):
    run = subprocess.run([sys.executable, "-m", "grader", "exercise3"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.startswith("Error: no course.yml found") and run.stderr.count("\n") == 1
    assert run.stdout == ""


def test_a_broken_course_file_is_exit_status_2_without_traceback(tmp_path):
    write(tmp_path, GOOD.replace("points: 10", "pionts: 10"))
    run = subprocess.run([sys.executable, "-m", "grader", "exercise3", "--course", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "unknown key 'pionts'" in run.stderr and "Traceback" not in run.stderr


def test_the_repository_course_points_match_the_tests(course):
    """Points live on the tests (the markers of the tests pytest collects, however they are
    written); course.yml's totals must agree (grade validate checks too)."""
    from grader.grade import grade
    for ex in course.exercises:
        total = grade(course, ex.id, ex.solution_dir / ex.module, hidden=True).max_score
        assert total == ex.points, f"{ex.id}: markers add up to {total}, course.yml says {ex.points}"
