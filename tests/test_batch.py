"""`grade batch`: the gradebook's format, a class with every kind of hand-in, failed
gradings, resuming after kill -9 and after Ctrl-C, and scores equal to grading alone.

The batch machinery is under test, not dropout, so the class is graded against a small
course built here: the real reference solution and stub of exercise3, three short tests
(one hidden), and a 2 s call limit so the student who hangs costs little. The tests log
every grading (so a resumed run can be seen not to regrade anyone) and kill the grading
process for a student whose dropout_forward returns a marker (a grading that fails).
"""

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import batch, pool
from grader.build import build
from grader.cli import main
from grader.course import load_course
from grader.errors import SubmissionNotFound
from grader.grade import ZygoteKeeper, grade, grade_each

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "solutions" / "exercise3" / "dropout.py"
CRASH_MARKER = -12345.0

COURSE_YML = """\
schema_version: 1
title: batch test course
limits: {call_seconds: 2, submission_seconds: 30}
exercises:
  - id: exercise3
    title: Dropout
    module: dropout.py
    points: 20
    functions: [dropout_forward, dropout_backward, vanilla_dropout_forward, vanilla_dropout_backward]
"""

PUBLIC_TESTS = f"""\
import os
import signal
from pathlib import Path

import numpy as np
import pytest

LOG = Path(__file__).with_name("gradings.log")
CALLS = []  # module state: a grading must not see what the previous one left here


@pytest.mark.points(5)
def test_test_mode(student):
    \"\"\"dropout_forward: test mode is the identity\"\"\"
    with LOG.open("a") as f:
        f.write(f"{{student.module_file}}\\n")
    CALLS.append(1)
    assert len(CALLS) == 1, "the test module kept state from an earlier grading"
    x = np.arange(12.0).reshape(3, 4)
    out, _ = student.dropout_forward(x, 0.3, False, np.random.default_rng(0))
    if np.all(np.asarray(out) == {CRASH_MARKER}):
        os.kill(os.getpid(), signal.SIGKILL)  # stands in for a crash of the grading process
    assert np.allclose(out, x), "at test time inverted dropout must not rescale"


@pytest.mark.points(5)
def test_scaling(student):
    \"\"\"dropout_forward: kept units are scaled by 1/(1-p)\"\"\"
    out, _ = student.dropout_forward(np.ones((20, 10)), 0.5, True, np.random.default_rng(1))
    out = np.asarray(out)
    assert np.all(np.isclose(out, 0) | np.isclose(out, 2.0)), "kept units must be scaled by 1/(1-p)"
"""

HIDDEN_TESTS = """\
import numpy as np
import pytest


@pytest.mark.points(10)
def test_vanilla_test_mode(student, reference):
    \"\"\"vanilla_dropout_forward: test mode output is x*(1-p)\"\"\"
    x = np.arange(6.0)
    out, _ = student.vanilla_dropout_forward(x, 0.25, False, np.random.default_rng(2))
    want, _ = reference.vanilla_dropout_forward(x, 0.25, False, np.random.default_rng(2))
    assert np.allclose(out, want), "vanilla dropout at test time must return x*(1-p)"
"""


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    (root / "course.yml").write_text(COURSE_YML)
    solutions = root / "solutions" / "exercise3"
    solutions.mkdir(parents=True)
    shutil.copy(REFERENCE, solutions / "dropout.py")
    (solutions / "test_public.py").write_text(PUBLIC_TESTS)
    (solutions / "test_hidden.py").write_text(HIDDEN_TESTS)
    build(load_course(root), ["exercise3"])
    (solutions / "gradings.log").unlink()  # the build ran the reference once
    return root


def notebook(code: str) -> str:
    """An nbgrader-style notebook: the code in a solution cell, then an nbgrader test cell."""
    cell = {"cell_type": "code", "execution_count": None, "outputs": []}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Dropout"]},
        {**cell, "metadata": {"nbgrader": {"solution": True, "grade": False, "grade_id": "dropout"}},
         "source": ["%matplotlib inline\n", code]},
        {**cell, "metadata": {"nbgrader": {"solution": False, "grade": True, "grade_id": "t1", "points": 1}},
         "source": ["assert False, 'nbgrader test cells are not the student's code'"]}]})


def write_files(folder: Path, files: dict) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def make_class(course_dir: Path, folder: Path) -> Path:
    """One student of each kind; returns the SUBMISSIONS folder."""
    ref = REFERENCE.read_text()
    write_files(folder, {
        "alice/dropout.py": ref,                                                  # correct
        "bob/dropout.py": ref.replace("/ (1 - p)", ""),                           # no 1/(1-p) scaling
        "carol/dropout.py": ref.replace("def dropout_forward(x, p, train, rng):",
                                        "def dropout_forward(x, p, train, rng)"),  # syntax error
        "erin/dropout.py": (course_dir / "exercises/exercise3/dropout.py").read_text(),  # the stub
        "frank/exercise3/exercise3.ipynb": notebook(ref),                        # nbgrader notebook
        "grace/exercise3/dropout.py": ref,                                        # folder per exercise
        "yuri/dropout.py": "while True:\n    pass\n",  # hangs at import (last: a kill -9 leaves no spinner)
    })
    (folder / "heidi").mkdir()           # handed in nothing
    (folder / ".DS_Store").write_text("")  # not a student
    return folder


@pytest.fixture(scope="module")
def submissions(course_dir, tmp_path_factory):
    return make_class(course_dir, tmp_path_factory.mktemp("submissions"))


def run_cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def gradebooks(course_dir, submissions, tmp_path_factory):
    """One uninterrupted run per format, the reference for everything below."""
    out = tmp_path_factory.mktemp("out")
    results = {}
    for suffix in ("csv", "json"):
        result = run_cli("batch", "exercise3", submissions, "--out", out / f"grades.{suffix}",
                         "--jobs", 2, "--course", course_dir)
        results[suffix] = (result, (out / f"grades.{suffix}").read_bytes())
    return results


STUDENTS = ["alice", "bob", "carol", "erin", "frank", "grace", "heidi", "yuri"]


def test_csv_has_the_fixed_columns_then_one_per_test_and_rows_sorted(gradebooks, course_dir, submissions):
    result, data = gradebooks["csv"]
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(data.decode())))
    names = [t.name for t in grade(load_course(course_dir), "exercise3", submissions / "alice").tests]
    assert rows[0] == ["student_id", "score", "max_score", "error"] + names
    assert [r[0] for r in rows[1:]] == STUDENTS
    table = {r[0]: r[1:] for r in rows[1:]}
    assert table["alice"] == ["20", "20", "", "5", "5", "10"]
    assert table["bob"] == ["15", "20", "", "5", "0", "10"]        # the scaling test names the mistake
    for student in ("carol", "erin", "heidi", "yuri"):             # broken, untouched, missing, hung
        assert table[student][:2] + table[student][3:] == ["0", "20", "0", "0", "0"]
    assert table["erin"][2] == ""                                   # graded: wrong answers, no error
    assert table["carol"][2].startswith("dropout.py could not be imported (syntax error): line 25")
    assert table["heidi"][2].startswith("no dropout.py found in ")   # the error column says why
    assert table["yuri"][2].startswith("dropout.py could not be imported: the import did not finish")
    assert table["frank"][:3] == table["grace"][:3] == ["20", "20", ""]


def test_a_failed_grading_gets_a_row_with_the_reason_and_the_batch_goes_on(course_dir, tmp_path):
    ref = REFERENCE.read_text()
    crasher = ref.replace("    return out, cache", f"    return x * 0 + {CRASH_MARKER}, cache", 1)
    subs = write_files(tmp_path / "subs", {"alice/dropout.py": ref, "mallory/dropout.py": crasher,
                                           "zed/dropout.py": ref})
    for out in (tmp_path / "grades.csv", tmp_path / "grades.json"):
        result = run_cli("batch", "exercise3", subs, "--out", out, "--jobs", 1, "--course", course_dir)
        assert result.exit_code == 0, result.output
        assert "3 students" in result.stderr and "1 grading failed" in result.stderr
    rows = list(csv.reader((tmp_path / "grades.csv").open()))
    assert [r[:4] for r in rows[1:]] == [
        ["alice", "20", "20", ""],
        ["mallory", "0", "20", "the grading process died (signal 9), twice on this submission"],
        ["zed", "20", "20", ""]]
    assert rows[2][4:] == ["", "", ""]
    mallory = json.loads((tmp_path / "grades.json").read_text())[1]
    assert (mallory["student_id"], mallory["score"], mallory["max_score"], mallory["tests"]) == \
        ("mallory", 0, 20, [])
    assert "grading process died" in mallory["error"]


def test_json_is_a_sorted_list_of_reports_with_student_ids(gradebooks):
    result, data = gradebooks["json"]
    assert result.exit_code == 0, result.output
    reports = json.loads(data)
    assert [r["student_id"] for r in reports] == STUDENTS
    for r in reports:
        assert {"schema_version", "exercise", "score", "max_score", "tests", "error"} <= r.keys()
    assert all(r["error"] == r["problem"] for r in reports)  # why nothing could be graded, or ""
    assert [r["student_id"] for r in reports if r["error"]] == ["carol", "heidi", "yuri"]
    yuri = reports[STUDENTS.index("yuri")]
    assert {t["outcome"] for t in yuri["tests"]} == {"timeout"}
    carol = reports[STUDENTS.index("carol")]
    assert all("syntax error" in t["message"] for t in carol["tests"])


def test_every_score_equals_grading_the_student_alone(gradebooks, course_dir, submissions):
    """Each student alone is `grade exercise3 --submission ... --json` in a fresh process."""
    reports = {r.pop("student_id"): r for r in json.loads(gradebooks["json"][1])}
    alone = {student: subprocess.Popen(
        [sys.executable, "-m", "grader", "exercise3", "--submission", str(submissions / student), "--json",
         "--course", str(course_dir)], stdout=subprocess.PIPE, text=True)
        for student in STUDENTS}
    for student, process in alone.items():
        stdout, _ = process.communicate(timeout=120)
        assert reports[student].pop("error") == reports[student]["problem"]
        if student == "heidi":  # nothing to grade: a usage error alone, a row with the reason in a batch
            assert process.returncode == 2 and stdout == ""
            continue
        assert process.returncode == 0, stdout
        assert reports[student] == json.loads(stdout), student


def test_grading_that_raises_is_retried_once_with_a_fresh_zygote_then_reported(course_dir, submissions):
    class Recording(ZygoteKeeper):
        def __init__(self):
            super().__init__()
            self.started, self.discards = [], 0

        def get(self):
            if self.current is None:
                self.started.append(super().get())
            return super().get()

        def discard(self):
            self.discards += 1
            super().discard()

    zygotes, results = Recording(), []
    gone = submissions / "deleted_during_the_batch"  # both attempts raise SubmissionNotFound
    grade_each(load_course(course_dir), "exercise3", [gone, submissions / "alice"],
               lambda path, result: results.append((path, result)), zygotes=zygotes, retries=1)
    assert [path for path, _ in results] == [gone, submissions / "alice"]
    assert isinstance(results[0][1], SubmissionNotFound)
    assert pool.outcome_of(results[0][1])["error"].startswith("grading failed: SubmissionNotFound")
    # each failed attempt (two: one retry) discarded the zygote, the end of grade_each once
    # more; alice was graded with a fresh zygote, started after the session's first
    assert zygotes.discards == 3 and zygotes.current is None
    assert len(zygotes.started) == 2 and zygotes.started[0] is not zygotes.started[1]
    assert all(z.process.poll() is not None for z in zygotes.started)
    # the session goes on: the next student in the same session is graded as if alone
    assert results[1][1].to_dict() == grade(load_course(course_dir), "exercise3", submissions / "alice").to_dict()


def start_batch(course_dir, submissions, out, jobs):
    """The batch as a terminal's foreground job runs it: its own process group, and SIGINT
    at its default even when these tests run where it is ignored (a background job of a
    shell without job control, such as `.ci/run &`, starts with SIGINT ignored)."""
    return subprocess.Popen(
        [sys.executable, "-m", "grader", "batch", "exercise3", str(submissions), "--out", str(out),
         "--jobs", str(jobs), "--course", str(course_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_results(state: Path, count: int, process, timeout=60):
    deadline = time.monotonic() + timeout
    while len(list(state.glob("*.json"))) < count:
        assert process.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def graded_files(course_dir) -> list[str]:
    log = course_dir / "solutions" / "exercise3" / "gradings.log"
    return log.read_text().splitlines() if log.exists() else []


def test_kill_9_then_rerun_grades_only_the_rest_and_writes_the_same_file(gradebooks, course_dir,
                                                                         submissions, tmp_path):
    out = tmp_path / "grades.csv"
    state = tmp_path / "grades.csv.partial"
    process = start_batch(course_dir, submissions, out, jobs=1)
    wait_for_results(state, 2, process)
    os.killpg(process.pid, signal.SIGKILL)  # the batch and its workers, as a power cut would
    process.wait()
    time.sleep(0.5)
    kept = sorted(json.loads(p.read_text())["student_id"] for p in state.glob("*.json"))
    assert len(kept) >= 2 and not out.exists()
    before = len(graded_files(course_dir))

    rerun = run_cli("batch", "exercise3", submissions, "--out", out, "--jobs", 1, "--course", course_dir)
    assert rerun.exit_code == 0, rerun.output
    assert out.read_bytes() == gradebooks["csv"][1]
    assert not state.exists()
    regraded = graded_files(course_dir)[before:]
    assert not [f for f in regraded if Path(f).parent.name in kept]
    assert len(regraded) == len(STUDENTS) - len(kept)
    assert f"{len(kept)} results came from an interrupted earlier run" in rerun.stderr


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(gradebooks, course_dir, submissions, tmp_path):
    out = tmp_path / "grades.json"
    process = start_batch(course_dir, submissions, out, jobs=2)
    wait_for_results(tmp_path / "grades.json.partial", 1, process)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal sends to the foreground group
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr and "Run the same command again" in stderr
    assert not out.exists()
    rerun = run_cli("batch", "exercise3", submissions, "--out", out, "--jobs", 2, "--course", course_dir)
    assert rerun.exit_code == 0, rerun.output
    assert out.read_bytes() == gradebooks["json"][1]


def test_a_kept_result_is_reused_only_while_the_submission_is_unchanged(course_dir, tmp_path):
    course = load_course(course_dir)
    exercise = course.exercise("exercise3")
    subs = tmp_path / "subs"
    (subs / "ann").mkdir(parents=True)
    (subs / "ann" / "dropout.py").write_text(REFERENCE.read_text())
    out = tmp_path / "grades.csv"
    state = batch.StateDir(out)
    state.path.mkdir()
    fake = {"schema_version": 1, "exercise": "exercise3", "score": 1.0, "max_score": 20.0,
            "tests": [], "output": "", "warnings": []}
    entry = {"state_version": batch.STATE_VERSION, "student_id": "ann", "report": fake,
             "submission_sha256": batch.submission_digest(exercise, subs / "ann"),
             "setup_sha256": batch.setup_digest(exercise, True)}
    state.save(entry)
    batch.run_batch(course, "exercise3", subs, out, jobs=1)
    assert out.read_text().splitlines()[1] == "ann,1,20,"   # reused, not regraded

    state.path.mkdir()
    state.save(entry)
    (subs / "ann" / "dropout.py").write_text(REFERENCE.read_text() + "\n# changed\n")
    batch.run_batch(course, "exercise3", subs, out, jobs=1)
    assert out.read_text().splitlines()[1].startswith("ann,20,20,")


@pytest.mark.parametrize("args, message", [
    (["exercise3", "nowhere", "--out", "g.csv"], "the submissions folder nowhere does not exist"),
    (["exercise3", "{subs}", "--out", "g.txt"], "must end in .csv or .json"),
    (["exercise3", "{empty}", "--out", "g.csv"], "no student folders"),
    (["exercise9", "{subs}", "--out", "g.csv"], "unknown exercise"),
])
def test_usage_errors_exit_2_with_one_line(args, message, course_dir, submissions, tmp_path):
    (tmp_path / "empty").mkdir()
    args = [a.format(subs=submissions, empty=tmp_path / "empty") for a in args]
    result = run_cli("batch", *args, "--course", course_dir)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_batch_has_help_with_an_example():
    result = run_cli("batch", "--help")
    assert result.exit_code == 0 and "Example: grade batch exercise3" in result.output


@pytest.mark.skipif(not (REPO / "solutions" / "exercise3" / "test_hidden.py").is_file()
                    or not (REPO / "exercises" / "exercise3" / "dropout.py").is_file(),
                    reason="exercise3's tests are not written yet")
def test_the_real_course_scores_like_grading_alone(tmp_path):
    course = load_course(REPO)
    subs = tmp_path / "subs"
    for name, text in {"ref": REFERENCE.read_text(),
                       "noscale": REFERENCE.read_text().replace("/ (1 - p)", ""),
                       "stub": (REPO / "exercises" / "exercise3" / "dropout.py").read_text()}.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "dropout.py").write_text(text)
    batch.run_batch(course, "exercise3", subs, tmp_path / "g.json", jobs=2)
    reports = json.loads((tmp_path / "g.json").read_text())
    for r in reports:
        alone = grade(course, "exercise3", subs / r.pop("student_id")).to_dict()
        assert r.pop("error") == "" and r == alone
    assert reports[1]["score"] == reports[1]["max_score"] > reports[0]["score"] > reports[2]["score"] == 0
