"""`grade batch` loses no one: every entry of the submissions folder gets a row or a listed
reason, whatever its name; spreadsheets never see a formula; the flat downloads of Canvas
and Moodle are read as they come; and the instructor's documented lines work where the
previous step leaves them (`grade batch ... submitted/` inside the nbgrader course).

Graded against the small course of tests/test_batch.py (three tests, 20 points).
"""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from tests.test_batch import (REFERENCE, REPO, course_dir, notebook, run_cli, start_batch,  # noqa: F401
                              wait_for_results, write_files)

TAB_ID = "\tTab"
LONG_ID = "s" * 240                                   # legal: a name may have 255 bytes
NFC, NFD = unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")
FORMULA_IDS = ["=HYPERLINK(\"evil.example\")", "+1", "-2", "@SUM(A1)", TAB_ID]
ODD_IDS = ["..x", "...", ".late", "__init__", LONG_ID, NFC, NFD] + FORMULA_IDS


def rows_of(path: Path) -> dict:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return {r[0]: r[1:] for r in rows[1:]}


@pytest.fixture(scope="module")
def odd_class(course_dir, tmp_path_factory):  # noqa: F811
    """Students with every kind of legal name, beside entries that are not students."""
    subs = tmp_path_factory.mktemp("odd")
    stub = (course_dir / "exercises" / "exercise3" / "dropout.py").read_text()
    for i, student in enumerate(ODD_IDS):
        write_files(subs, {f"{student}/dropout.py": REFERENCE.read_text() if i % 2 == 0 else stub})
    os.symlink(course_dir / "solutions" / "exercise3", subs / "linked")  # the answers, via a link
    os.mkfifo(subs / "pipe")
    write_files(subs, {".DS_Store": "", "notes.txt": "grading notes", "__MACOSX/._x": ""})
    return subs


@pytest.fixture(scope="module")
def odd_gradebook(course_dir, odd_class, tmp_path_factory):  # noqa: F811
    """The CSV run (its result and file) and the JSON gradebook of the same class."""
    out = tmp_path_factory.mktemp("odd_out") / "grades.csv"
    result = run_cli("batch", "exercise3", odd_class, "--out", out, "--jobs", 2, "--course", course_dir)
    twin = run_cli("batch", "exercise3", odd_class, "--out", out.with_suffix(".json"), "--jobs", 2,
                   "--course", course_dir)
    assert twin.exit_code == 0, twin.output
    return result, out, json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))


def test_every_odd_but_legal_folder_name_is_a_student_with_a_row(odd_gradebook):
    result, out, reports = odd_gradebook
    assert result.exit_code == 0, result.output
    assert sorted(r["student_id"] for r in reports) == sorted(ODD_IDS)  # JSON: the exact ids
    for i, student in enumerate(ODD_IDS):
        report = next(r for r in reports if r["student_id"] == student)
        assert report["score"] == (20 if i % 2 == 0 else 0), student
    assert f"Graded {len(ODD_IDS)} students" in result.stderr
    assert len(rows_of(out)) == len(ODD_IDS)


def test_entries_that_are_not_students_are_listed_with_their_reason(odd_gradebook):
    result, out, _ = odd_gradebook
    skipped = list(csv.DictReader(io.StringIO(out.with_name("grades.skipped.csv").read_text())))
    reasons = {row["entry"]: row["reason"] for row in skipped}
    assert sorted(reasons) == [".DS_Store", "__MACOSX", "linked", "notes.txt", "pipe"]
    assert "symbolic link" in reasons["linked"] and "never read through links" in reasons["linked"]
    assert "named pipe" in reasons["pipe"]
    assert "linked" not in rows_of(out)  # the link to the answers was not followed, not graded
    assert "Skipped 5 entries of the submissions folder" in result.stderr
    for entry, reason in reasons.items():
        assert f"{entry!r}: {reason}" in result.stderr


def test_cells_a_spreadsheet_would_run_as_formulas_start_with_a_quote(odd_gradebook):
    """OWASP's rule, on the raw CSV text: `=`, `+`, `-`, `@`, tab and CR get a leading '."""
    _, out, _ = odd_gradebook
    table = rows_of(out)
    for student in FORMULA_IDS:
        assert "'" + student in table, student
        assert student not in table
    assert not [cell for row in csv.reader(io.StringIO(out.read_text())) for cell in row
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_two_ids_that_differ_only_in_unicode_normalisation_are_both_named(odd_gradebook):
    result, out, _ = odd_gradebook
    assert NFC in rows_of(out) and NFD in rows_of(out)
    warning = next(line for line in result.stderr.splitlines() if line.startswith("Warning:"))
    assert ascii(NFC) in warning and ascii(NFD) in warning and "look identical" in warning


def test_a_resumed_run_of_the_odd_class_writes_the_same_bytes(odd_gradebook, course_dir, odd_class,  # noqa: F811
                                                              tmp_path):
    """State files are named by a hash: a 240-byte id and a tab fit; kill -9, rerun."""
    _, uninterrupted, _ = odd_gradebook
    out = tmp_path / "grades.csv"
    state = tmp_path / "grades.csv.partial"
    process = start_batch(course_dir, odd_class, out, jobs=1)
    wait_for_results(state, 3, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    names = [p.name for p in state.glob("*.json")]
    assert names and all(len(name) == 64 + len(".json") for name in names)
    rerun = run_cli("batch", "exercise3", odd_class, "--out", out, "--jobs", 2, "--course", course_dir)
    assert rerun.exit_code == 0, rerun.output
    assert "came from an interrupted earlier run" in rerun.stderr
    assert out.read_bytes() == uninterrupted.read_bytes()
    assert out.with_name("grades.skipped.csv").read_bytes() == \
        uninterrupted.with_name("grades.skipped.csv").read_bytes()


def test_the_gradebook_written_inside_the_submissions_folder_is_not_a_student(course_dir, tmp_path):  # noqa: F811
    subs = write_files(tmp_path / "subs", {"alice/dropout.py": REFERENCE.read_text()})
    for _ in range(2):
        result = run_cli("batch", "exercise3", subs, "--out", subs / "grades.csv", "--course", course_dir)
        assert result.exit_code == 0, result.output
    assert list(rows_of(subs / "grades.csv")) == ["alice"]
    assert not (subs / "grades.skipped.csv").exists()  # nothing skipped: no list


CANVAS = {  # Canvas "Download submissions": one folder, <name>_[LATE_]<user id>_<submission id>_<file>
    "doejane_12345_6789012_dropout.py": "ref",
    "smithjohn_LATE_23456_7890123_dropout-1.py": "ref",       # late, resubmitted (Canvas adds -1)
    "nguyenanh_34567_8901234_dropout-2.py": "ref",            # beside a helper: the module is graded
    "nguyenanh_34567_8901235_helpers.py": "stub",
    "kimminji_45678_9012345_exercise3.ipynb": "notebook",
    "parkjin_56789_1234567_part1.py": "ref",                  # two candidates: a row says why
    "parkjin_56789_1234568_part2.py": "ref",
    "garciamaria_67890_2345678_dropout.zip": "zip",           # not a module: graded as nothing found
}


def hand_in(kind: str, course_dir: Path) -> str:  # noqa: F811
    return {"ref": REFERENCE.read_text(), "notebook": notebook(REFERENCE.read_text()), "zip": "PK\x03\x04",
            "stub": (course_dir / "exercises" / "exercise3" / "dropout.py").read_text(),
            "html": "<p>see my file</p>"}[kind]


def test_a_canvas_download_is_graded_one_row_per_student(course_dir, tmp_path):  # noqa: F811
    subs = write_files(tmp_path / "canvas", {name: hand_in(kind, course_dir) for name, kind in CANVAS.items()})
    result = run_cli("batch", "exercise3", subs, "--out", tmp_path / "grades.csv", "--course", course_dir)
    assert result.exit_code == 0, result.output
    table = rows_of(tmp_path / "grades.csv")
    assert sorted(table) == ["doejane_12345", "garciamaria_67890", "kimminji_45678", "nguyenanh_34567",
                             "parkjin_56789", "smithjohn_23456"]
    for student in ("doejane_12345", "smithjohn_23456", "nguyenanh_34567", "kimminji_45678"):
        assert table[student][:3] == ["20", "20", ""], student
    assert table["garciamaria_67890"][:2] == ["0", "20"]
    assert table["parkjin_56789"][:2] == ["0", "20"] and "handed in 2 files" in table["parkjin_56789"][2]
    assert "part1.py" in table["parkjin_56789"][2] and "part2.py" in table["parkjin_56789"][2]
    assert "Skipped" not in result.stderr


MOODLE = {  # Moodle "Download all submissions": a folder per student and submission plugin
    "Jane Doe_1234567_assignsubmission_file_/dropout.py": "ref",
    "Jane Doe_1234567_assignsubmission_onlinetext_/onlinetext.html": "html",
    "Min-ji Kim_2345678_assignsubmission_file_/exercise3.ipynb": "notebook",
    "Participant_3456789_assignsubmission_file_/dropout.py": "stub",          # blind marking
    "José García_4567890_assignsubmission_onlinetext_/onlinetext.html": "html",  # no file at all
    "Ana Lima_5678901_assignsubmission_file_dropout.py": "ref",              # without folders
}


def test_a_moodle_download_is_graded_one_row_per_student(course_dir, tmp_path):  # noqa: F811
    subs = write_files(tmp_path / "moodle", {name: hand_in(kind, course_dir) for name, kind in MOODLE.items()})
    result = run_cli("batch", "exercise3", subs, "--out", tmp_path / "grades.json", "--course", course_dir)
    assert result.exit_code == 0, result.output
    reports = {r["student_id"]: r for r in json.loads((tmp_path / "grades.json").read_text())}
    assert sorted(reports) == ["Ana Lima_5678901", "Jane Doe_1234567", "José García_4567890",
                               "Min-ji Kim_2345678", "Participant_3456789"]
    scores = {student: r["score"] for student, r in reports.items()}
    assert scores == {"Ana Lima_5678901": 20, "Jane Doe_1234567": 20, "José García_4567890": 0,
                      "Min-ji Kim_2345678": 20, "Participant_3456789": 0}
    skipped = json.loads((tmp_path / "grades.skipped.json").read_text())
    assert [s["entry"] for s in skipped] == ["Jane Doe_1234567_assignsubmission_onlinetext_"]
    assert "submitted files are graded" in skipped[0]["reason"]


def test_flat_files_are_students_and_two_hand_ins_of_one_get_one_row_that_says_so(course_dir, tmp_path):  # noqa: F811
    stub = (course_dir / "exercises" / "exercise3" / "dropout.py").read_text()
    subs = write_files(tmp_path / "subs", {"alice/dropout.py": REFERENCE.read_text(),
                                           "alice_dropout.py": REFERENCE.read_text(),
                                           "bob_exercise3.ipynb": notebook(REFERENCE.read_text()),
                                           "carol_dropout.py": REFERENCE.read_text(),  # the module wins
                                           "carol.ipynb": notebook(stub)})
    result = run_cli("batch", "exercise3", subs, "--out", tmp_path / "g.csv", "--course", course_dir)
    assert result.exit_code == 0, result.output
    table = rows_of(tmp_path / "g.csv")
    assert sorted(table) == ["alice", "bob", "carol"]
    assert table["bob"][:3] == table["carol"][:3] == ["20", "20", ""]
    assert table["alice"][:2] == ["0", "20"]
    assert "handed in 2 times (alice/, alice_dropout.py)" in table["alice"][2]


def test_a_folder_with_nothing_but_litter_is_a_usage_error_that_names_it(course_dir, tmp_path):  # noqa: F811
    subs = write_files(tmp_path / "subs", {".DS_Store": "", "readme.txt": ""})
    result = run_cli("batch", "exercise3", subs, "--out", tmp_path / "g.csv", "--course", course_dir)
    assert result.exit_code == 2 and result.stderr.startswith("Error:")
    assert "no student folders (skipped: .DS_Store, readme.txt)" in result.stderr


# ------------------------------------------------------------------ the nbgrader course knows its course

def test_grade_batch_inside_the_nbgrader_course_finds_the_course_it_was_built_from(course_dir, tmp_path):  # noqa: F811
    """The documented lines, as typed: build, cd into the nbgrader course, grade submitted/."""
    pytest.importorskip("nbformat")
    nbc = tmp_path / "nbgrader_course"
    built = run_cli("nbgrader", "build", nbc, "exercise3", "--course", course_dir)
    assert built.exit_code == 0, built.output
    assert f"wrote {nbc / 'grader_course.json'}" in built.output
    write_files(nbc, {"submitted/alice/exercise3/exercise3.ipynb": notebook(REFERENCE.read_text())})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "grader", "batch", "exercise3", "submitted/",
                           "--out", "exercise3.csv"], cwd=nbc, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert rows_of(nbc / "exercise3.csv")["alice"][:3] == ["20", "20", ""]

    moved = tmp_path / "moved"  # the course moved away: one line that says how to fix it
    course_dir.rename(moved)
    try:
        proc = subprocess.run([sys.executable, "-m", "grader", "batch", "exercise3", "submitted/",
                               "--out", "exercise3.csv"], cwd=nbc / "submitted", env=env,
                              capture_output=True, text=True, timeout=300)
    finally:
        moved.rename(course_dir)
    assert proc.returncode == 2 and proc.stderr.startswith("Error:")
    assert "grader_course.json" in proc.stderr and "grade nbgrader build" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_released_test_cell_run_inside_the_nbgrader_course_finds_the_course(course_dir, tmp_path,  # noqa: F811
                                                                             monkeypatch, capsys):
    """`nbgrader validate release/exercise3/exercise3.ipynb` there: the link, not $GRADER_COURSE."""
    pytest.importorskip("nbformat")
    from grader import nbgrader_cell

    nbc = tmp_path / "nbgrader_course"
    assert run_cli("nbgrader", "build", nbc, "exercise3", "--course", course_dir).exit_code == 0
    write_files(nbc, {"release/exercise3/exercise3.ipynb": notebook(REFERENCE.read_text())})
    monkeypatch.chdir(nbc / "release" / "exercise3")
    monkeypatch.delenv(nbgrader_cell.COURSE_ENV, raising=False)
    value = nbgrader_cell.check("exercise3", "dropout_forward", 10)
    out = capsys.readouterr()
    assert value == 10.0 and "not graded" not in out.out and out.err == ""
