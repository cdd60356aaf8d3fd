"""Small things a new student or instructor trips over in the first hour: feedback that
says which input broke, words that fit any course, a release others can open, and
gradebook values without float noise."""

import json
import os
import re
import stat

from click.testing import CliRunner

from grader.cli import main
from grader.nbgrader_cell import credit
from tests.conftest import ROOT as REPO



def test_a_nan_message_says_which_input_produced_it(tmp_path):
    divides_by_p = tmp_path / "dropout.py"
    divides_by_p.write_text((REPO / "solutions" / "exercise3" / "dropout.py").read_text().replace(
        "def dropout_forward(x, p, train, rng):\n",
        "def dropout_forward(x, p, train, rng):\n"
        "    if train and 0 <= p < 1:\n"
        "        with np.errstate(divide='ignore', invalid='ignore'):\n"
        "            mask = rng.random(x.shape) >= p\n"
        "            return x * mask / (1 - p) / (np.float64(p) / p), (mask, p, train)\n"))
    result = CliRunner().invoke(main, ["exercise3", "--submission", str(divides_by_p), "--json",
                                       "--course", str(REPO)])
    assert result.exit_code == 0, result.output
    messages = [t["message"] for t in json.loads(result.stdout)["tests"] if t["outcome"] != "passed"]
    assert any("out from dropout_forward for p = 0, train = True contains NaN or inf" in m
               for m in messages), messages


def test_feedback_names_no_particular_course_material():
    """Feedback ships to every course: no lecture numbers or deck names of one course."""
    pattern = re.compile(r"lectures? ?\d|deck ?\d|\blecture's\b|\bthe lecture\b|\bthe slides?\b", re.IGNORECASE)
    files = sorted((REPO / "solutions").glob("*/test_*.py")) + sorted((REPO / "solutions").glob("*/mistakes.yml")) \
        + sorted((REPO / "grader").rglob("*.py"))
    found = [f"{f.relative_to(REPO)}:{n}: {line.strip()}" for f in files
             for n, line in enumerate(f.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, "\n".join(found)


def test_the_release_folder_follows_the_umask(tmp_path):
    dest = tmp_path / "release"
    previous = os.umask(0o022)
    try:
        result = CliRunner().invoke(main, ["release", str(dest), "--course", str(REPO)])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755


def test_nbgrader_cell_values_carry_no_float_noise():
    tests = [{"name": f"f: {i}", "points": p, "max_points": 1.0} for i, p in enumerate([1.0] * 24 + [0.0])]
    value = credit(tests, 10, public_only=True)   # 24 / 25 * 10 = 9.600000000000001 in floats
    assert value == 9.6 and repr(value) == "9.6"


def test_build_check_reports_every_stale_exercise_not_only_the_first(tmp_path):
    """A stale stub in one exercise must not hide a stale recording in the next."""
    from grader.build import out_of_sync
    from grader.course import load_course
    from tests.conftest import copy_course

    course = load_course(copy_course(tmp_path / "course"))
    first, second = course.exercises[0], course.exercises[1]
    (first.student_dir / first.module).write_text("# edited by hand\n")
    (second.student_dir / "expected.dat").write_bytes(b"stale")
    stale = out_of_sync(course, [first.id, second.id])
    assert f"exercises/{first.id}/{first.module}" in stale
    assert f"exercises/{second.id}/expected.dat" in stale


def test_a_missing_working_copy_says_put_it_back_not_rename_the_tests(tmp_path):
    """`grade exercise3` after the student moved dropout.py away: the message names their
    file and how to get it back, never "name your file" about the course's test_public.py."""
    from tests.conftest import copy_course

    course = copy_course(tmp_path / "course")
    (course / "exercises" / "exercise3" / "dropout.py").unlink()
    result = CliRunner().invoke(main, ["exercise3", "--course", str(course)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "exercise3/dropout.py is missing" in result.stderr and "--submission" in result.stderr
    assert "test_public.py" not in result.stderr
    # a hand-in folder that holds the course's tests next to a misnamed module: the hint
    # names the student's file only
    hand_in = tmp_path / "hw3"
    hand_in.mkdir()
    (hand_in / "test_public.py").write_text("")
    (hand_in / "my_dropout.py").write_text("")
    result = CliRunner().invoke(main, ["exercise3", "--submission", str(hand_in), "--course", str(course)])
    assert result.exit_code == 2
    assert "(it holds my_dropout.py: name your file dropout.py)" in result.stderr, result.stderr


def test_a_student_with_two_hand_ins_is_not_counted_as_an_earlier_runs_result(tmp_path):
    """The first run of a batch has no earlier run: a student whose hand-in is unclear (two
    candidate files) gets a row with the reason, counted as nothing graded, not as a
    result kept from an interrupted run nor as a failed grading."""
    subs = tmp_path / "canvas"
    subs.mkdir()
    reference = (REPO / "solutions" / "exercise3" / "dropout.py").read_text()
    (subs / "doejane_12345_6789012_dropout.py").write_text(reference)
    (subs / "kimsu_55555_1111111_answer.py").write_text(reference)
    (subs / "kimsu_55555_1111112_other.py").write_text(reference)
    out = tmp_path / "grades.csv"
    result = CliRunner().invoke(main, ["batch", "exercise3", str(subs), "--out", str(out), "--jobs", "1",
                                       "--course", str(REPO)])
    assert result.exit_code == 0, result.output
    assert "earlier run" not in result.stderr and "kept" not in result.stderr, result.stderr
    assert "0 gradings failed" in result.stderr, result.stderr
    assert "1 with their work graded, 1 student with nothing that could be graded" in result.stderr, result.stderr
    rows = out.read_text().splitlines()
    assert rows[1].startswith("doejane_12345,26,26,,") and rows[2].startswith('kimsu_55555,0,26,"kimsu_55555 handed in 2 files')


STUBS_COURSE = """\
schema_version: 1
exercises:
  - id: ex
    title: Three functions
    module: m.py
    points: 12
    functions: [f, g, h]
"""
STUBS_MODULE = """\
def f(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION


def g(x):
    ### BEGIN SOLUTION
    return x + 1
    ### END SOLUTION


def h(y):
    ### BEGIN SOLUTION
    return y - 1
    ### END SOLUTION
"""
STUBS_TESTS = """\
import pytest


@pytest.mark.points(1)
def test_f_small(student):
    \"\"\"f: doubles 1\"\"\"
    assert student.f(1) == 2, "f(1) should be 2"


@pytest.mark.points(2)
def test_f_big(student):
    \"\"\"f: doubles 10\"\"\"
    assert student.f(10) == 20, "f(10) should be 20"


@pytest.mark.points(2)
def test_g_one(student):
    \"\"\"g: adds one to 1\"\"\"
    assert student.g(1) == 2, "g(1) should be 2"


@pytest.mark.points(3)
def test_g_two(student):
    \"\"\"g: adds one to 2\"\"\"
    assert student.g(2) == 3, "g(2) should be 3"


@pytest.mark.points(4)
def test_h_undoes_g(student):
    \"\"\"h: undoes g\"\"\"
    assert student.h(student.g(5)) == 5, "h(g(5)) should be 5"
"""


def test_a_function_not_written_yet_gets_one_line_not_one_per_test(tmp_path):
    """An untouched function's tests all say the same thing: one line per function (the
    points of its tests, how many there are), and a function whose tests stop at another
    one's stub names that one. A written function keeps a line per test."""
    (tmp_path / "course.yml").write_text(STUBS_COURSE)
    (tmp_path / "solutions" / "ex").mkdir(parents=True)
    (tmp_path / "solutions" / "ex" / "m.py").write_text(STUBS_MODULE)
    (tmp_path / "solutions" / "ex" / "test_public.py").write_text(STUBS_TESTS)
    built = CliRunner().invoke(main, ["build", "--course", str(tmp_path)])
    assert built.exit_code == 0, built.output
    stub = (tmp_path / "exercises" / "ex" / "m.py").read_text()
    assert stub.count("raise NotImplementedError") == 3, stub
    submission = tmp_path / "m.py"  # f written, g and h still the stubs
    submission.write_text(stub.replace(stub[stub.index("def f("):stub.index("def g(")],
                                       "def f(x):\n    return 2 * x\n\n\n"))
    result = CliRunner().invoke(main, ["ex", "--submission", str(submission), "--course", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert sum(line.startswith("  PASS ") and " f: " in line for line in lines) == 2, result.stdout
    assert re.search(r"^  ERROR +0/5 +g: not implemented yet \(2 tests; -v lists them\)$", result.stdout, re.M), \
        result.stdout
    assert re.search(r"^  ERROR +0/4 +h: needs g, not implemented yet \(1 test\)$", result.stdout, re.M), \
        result.stdout
    assert "NotImplementedError)" not in result.stdout  # no message repeated under each test
    report = json.loads(CliRunner().invoke(main, ["ex", "--submission", str(submission), "--json",
                                                  "--course", str(tmp_path)]).stdout)
    assert len(report["tests"]) == 5  # the JSON report keeps every test
    assert [t["outcome"] for t in report["tests"]] == ["passed", "passed", "error", "error", "error"]


def test_help_lists_every_command_with_a_whole_sentence():
    """`grade --help` and `grade nbgrader --help`: no command summary cut off with '...'."""
    for args in (["--help"], ["nbgrader", "--help"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        listing = result.stdout.split("Commands:")[1]
        assert listing.strip() and "..." not in listing, listing
