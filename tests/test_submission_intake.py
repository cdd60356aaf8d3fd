"""What a student hands in, read as untrusted input, through the real `grade` command.

Issue 11 item 1: no symbolic link is followed, only regular files are read, nothing
blocks (a FIFO), sizes are capped before reading, notebooks are parsed defensively.
Issue 10 items 3, 4 and 6: one unusable submission gives one headline naming the
student's own file; the gradebook's `error` column says why a student got nothing; a
notebook's errors point at its cell and line, and a cell that fails does so alone.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.conftest import ROOT

REFERENCE = (ROOT / "solutions/exercise3/dropout.py").read_text()
SYNTAX_ERROR = REFERENCE.replace("def dropout_forward(x, p, train, rng):",
                                 "def dropout_forward(x, p, train, rng)")
SYNTAX_LINE = SYNTAX_ERROR.splitlines().index("def dropout_forward(x, p, train, rng)") + 1
SECRET = "machine example.com login alice password hunter2-do-not-leak"


def grade(*args: object):
    """`grade exercise3 ARGS --public-only --course ROOT` through click's runner."""
    return CliRunner().invoke(main, ["exercise3", *map(str, args), "--public-only", "--course", str(ROOT)])


def grade_json(path: Path) -> dict:
    result = grade("--submission", path, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def grade_in_subprocess(path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """For hand-ins that could hang the grader: a hang fails the test instead of the suite."""
    return subprocess.run([sys.executable, "-m", "grader", "exercise3", "--submission", str(path), "--json",
                           "--public-only", "--course", str(ROOT)],
                          capture_output=True, text=True, timeout=timeout)


def batch(submissions: Path, out: Path, timeout: float = 300) -> dict[str, dict]:
    """`grade batch` in a subprocess (a hang fails the test); the CSV rows by student, with
    the JSON report of each student under "report"."""
    rows = {}
    for suffix in (".csv", ".json"):
        run = subprocess.run([sys.executable, "-m", "grader", "batch", "exercise3", str(submissions), "--out",
                              str(out.with_suffix(suffix)), "--jobs", "2", "--public-only", "--course", str(ROOT)],
                             capture_output=True, text=True, timeout=timeout)
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
    for row in csv.DictReader(out.with_suffix(".csv").open()):
        rows[row["student_id"]] = row
    for report in json.loads(out.with_suffix(".json").read_text()):
        rows[report["student_id"]]["report"] = report
    return rows


def notebook(*cells: dict) -> str:
    return json.dumps({"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def code_cell(source, *tags: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
            "metadata": {"tags": list(tags)} if tags else {}}


MARKDOWN = {"cell_type": "markdown", "metadata": {}, "source": "# My dropout"}


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def assert_nothing_graded(report: dict, *words: str) -> None:
    """Score 0, every test an error whose message is the report's one headline."""
    assert report["score"] == 0 and report["problem"]
    assert all(t["outcome"] in ("error", "timeout") and t["message"] == report["problem"]
               for t in report["tests"])
    for word in words:
        assert word in report["problem"], report["problem"]


# ------------------------------------------------------------------ untrusted files (issue 11.1)

def test_no_symlink_into_the_solutions_earns_a_point(tmp_path):
    """A link as the module, the exercise folder or the whole student folder, absolute or
    relative: refused, 0, and the reason in the gradebook; the honest student is untouched."""
    subs = write(tmp_path / "subs", {"honest/dropout.py": REFERENCE})
    solutions = ROOT / "solutions/exercise3"
    (subs / "absolute").mkdir()
    (subs / "absolute/dropout.py").symlink_to(solutions / "dropout.py")
    (subs / "relative").mkdir()
    (subs / "relative/dropout.py").symlink_to(os.path.relpath(solutions / "dropout.py", subs / "relative"))
    (subs / "folder").mkdir()
    (subs / "folder/exercise3").symlink_to(solutions)
    (subs / "student").symlink_to(solutions)
    (subs / "notebook").mkdir()
    (subs / "notebook/mine.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")
    (tmp_path / "elsewhere.ipynb").write_text(notebook(code_cell(REFERENCE)))
    rows = batch(subs, tmp_path / "grades")
    assert rows["honest"]["score"] == rows["honest"]["max_score"] and rows["honest"]["error"] == ""
    for student in ("absolute", "relative", "folder", "notebook"):
        assert rows[student]["score"] == "0", student
        assert "is a symbolic link" in rows[student]["error"], rows[student]["error"]
        assert_nothing_graded(rows[student]["report"], "symbolic link")
    # a student folder that is itself a link is no student: listed as skipped, with the reason
    assert "student" not in rows
    skipped = {row["entry"]: row["reason"]
               for row in csv.DictReader((tmp_path / "grades.skipped.csv").open())}
    assert "symbolic link" in skipped["student"], skipped
    assert grade_json(subs / "absolute/dropout.py")["score"] == 0  # alone too


def test_a_symlink_to_a_credentials_file_never_shows_its_content(tmp_path):
    secret = tmp_path / "netrc"
    secret.write_text(SECRET + "\n")
    for name in ("dropout.py", "mine.ipynb"):
        (tmp_path / name).symlink_to(secret)
        result = grade("--submission", tmp_path / name, "--json")
        assert result.exit_code == 0
        assert "hunter2" not in result.output and "machine" not in result.output
        assert_nothing_graded(json.loads(result.stdout), f"{name} is a symbolic link")


def test_a_fifo_or_a_link_to_dev_zero_neither_hangs_nor_eats_memory(tmp_path):
    os.mkfifo(tmp_path / "pipe.ipynb")
    (tmp_path / "zero.py").symlink_to("/dev/zero")
    for name, words in (("pipe.ipynb", "is not a regular file"), ("zero.py", "is a symbolic link")):
        run = grade_in_subprocess(tmp_path / name, timeout=60)
        assert run.returncode == 0, run.stderr
        assert_nothing_graded(json.loads(run.stdout), words)


def test_a_fifo_in_a_batch_costs_its_student_only(tmp_path):
    subs = write(tmp_path / "subs", {"alice/dropout.py": REFERENCE})
    (subs / "mallory").mkdir()
    os.mkfifo(subs / "mallory/dropout.py")
    (subs / "trudy").mkdir()
    os.mkfifo(subs / "trudy/answers.ipynb")
    rows = batch(subs, tmp_path / "grades", timeout=180)
    assert rows["alice"]["score"] == rows["alice"]["max_score"]
    assert rows["mallory"]["error"] == "dropout.py is not a regular file"
    assert rows["trudy"]["error"] == "answers.ipynb is not a regular file"


def test_oversized_files_are_refused_before_they_are_read(tmp_path):
    for name, size in (("big.ipynb", 200 << 20), ("big.py", 5 << 20)):
        with open(tmp_path / name, "wb") as f:
            f.truncate(size)  # sparse: takes no disk, and would take the memory if read
        report = grade_json(tmp_path / name)
        assert_nothing_graded(report, f"{name} is {size / 2**20:.1f} MB", "are not graded")


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", "its top level is a list, not a mapping"),
    ('{"cells": {"0": {}}}', "it has no list of cells"),
    ('{"cells": [[1, 2]]}', "cell 1 is a list, not a mapping"),
    (notebook(MARKDOWN, code_cell([1, 2])), "cell 2's source: a list holding a number where text belongs"),
    (notebook({"cell_type": "code", "metadata": [], "source": ""}), "cell 1's metadata: a list where a mapping belongs"),
    (notebook(code_cell("x = 1", 7)), "cell 1's tags: a list holding a number where text belongs"),
    ('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested far too deeply"),
    ('{"cells": [', "it is not valid JSON"),
    (b"\xff\xfe{}", "it is not UTF-8 text"),
], ids=["list-at-top", "cells-a-mapping", "cell-a-list", "source-of-ints", "metadata-a-list",
        "tags-of-ints", "nested-100000", "not-json", "not-utf8"])
def test_a_malformed_notebook_is_a_clear_message_not_a_traceback(tmp_path, text, words):
    path = tmp_path / "mine.ipynb"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = grade("--submission", path, "--json")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert_nothing_graded(json.loads(result.stdout), "mine.ipynb is not a readable Jupyter notebook", words)


# ------------------------------------------------------------------ one headline (issue 10.3)

def test_a_syntax_error_is_one_headline_that_names_the_students_file(tmp_path):
    path = write(tmp_path, {"syntax.py": SYNTAX_ERROR}) / "syntax.py"
    result = grade("--submission", path)
    assert result.exit_code == 0
    headline = f"syntax.py could not be imported (syntax error): line {SYNTAX_LINE}: expected ':'"
    assert result.stdout.count(headline) == 1, result.stdout
    assert "dropout.py" not in result.stdout
    assert "ERROR" not in result.stdout  # the tests are not listed one by one with the same line
    assert result.stdout.splitlines()[-1].startswith("Score: 0 / ")
    report = grade_json(path)  # the JSON keeps every test, outcome error, with the message
    assert_nothing_graded(report, headline)
    assert len(report["tests"]) > 1


def test_an_import_that_ends_the_process_is_one_headline(tmp_path):
    path = write(tmp_path, {"quitter.py": "import os\nos._exit(3)\n"}) / "quitter.py"
    result = grade("--submission", path)
    assert result.exit_code == 0
    # (how it ended: "exit status 3", or "it ended" when the zygote reaped the worker first)
    assert result.stdout.count("quitter.py could not be imported: the import ended the worker process (") == 1


@pytest.mark.parametrize("files, words", [
    ({}, "no dropout.py found in {path}"),
    ({"my_dropout.py": REFERENCE}, "no dropout.py found in {path} (it holds my_dropout.py: name your "
                                   "file dropout.py)"),
    ({"a.ipynb": notebook(code_cell(REFERENCE)), "b.ipynb": notebook(code_cell(REFERENCE))},
     "{path} holds several notebooks (a.ipynb, b.ipynb) and no dropout.py"),
], ids=["empty-folder", "misnamed-file", "two-notebooks"])
def test_a_path_without_a_module_is_a_usage_error_for_one_grade(tmp_path, files, words):
    path = write(tmp_path / "hand-in", files)
    path.mkdir(exist_ok=True)
    result = grade("--submission", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: " + words.format(path=path)), result.stderr
    assert result.stderr.count("\n") == 1


def test_a_file_that_is_not_a_submission_is_a_usage_error(tmp_path):
    path = write(tmp_path, {"notes.txt": "hello"}) / "notes.txt"
    result = grade("--submission", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path} is neither a .py module nor a notebook")


# ------------------------------------------------------------------ the gradebook says why (issue 10.4)

def test_the_gradebook_says_why_a_student_got_nothing(tmp_path):
    subs = write(tmp_path / "subs", {
        "alice/dropout.py": REFERENCE,                            # full marks
        "bob/dropout.py": REFERENCE.replace("/ (1 - p)", ""),     # wrong answers: no error
        "carol/my_dropout.py": REFERENCE,                         # wrong file name
        "dave/dropout.py": SYNTAX_ERROR,
        "erin/dropout.py": "import os\nos._exit(0)\n",            # ends its process at import
        "frank/dropout.py": REFERENCE,                            # a module and a notebook
        "frank/scratch.ipynb": notebook(code_cell("raise SystemExit")),
        "ivan/exercise3/answers.ipynb": notebook(code_cell("def dropout_forward(x, p, train, rng)\n")),
    })
    (subs / "heidi").mkdir()                                      # an empty folder
    rows = batch(subs, tmp_path / "grades")
    assert rows["alice"]["error"] == rows["bob"]["error"] == ""
    assert 0 < float(rows["bob"]["score"]) < float(rows["bob"]["max_score"])
    expected = {
        "carol": "no dropout.py found in {subs}/carol (it holds my_dropout.py: name your file dropout.py)",
        "dave": f"dropout.py could not be imported (syntax error): line {SYNTAX_LINE}: expected ':' "
                "def dropout_forward(x, p, train, rng)",
        "erin": "dropout.py could not be imported: the import ended the worker process (",
        "heidi": "no dropout.py found in {subs}/heidi",
        "ivan": "answers.ipynb could not be imported: cell 1, line 1 of answers.ipynb: SyntaxError",
    }
    for student, words in expected.items():
        row = rows[student]
        assert row["score"] == "0" and row["error"].startswith(words.format(subs=subs)), (student, row["error"])
        assert row["report"]["error"] == row["report"]["problem"]  # the JSON says it too, in full
        assert "\n" not in row["error"]
    frank = rows["frank"]
    assert frank["score"] == frank["max_score"] and frank["error"] == ""
    assert frank["report"]["notes"] == ["graded dropout.py; the notebook scratch.ipynb next to it was not graded"]


# ------------------------------------------------------------------ notebooks (issue 10.6)

def test_a_notebook_cell_that_fails_fails_alone_and_says_where(tmp_path):
    """A plotting cell (matplotlib is not installed here), a cell with a mistake, and an
    exploration cell that would not even compile: the functions still get full marks."""
    missing = "matplotlib"  # not a dependency of the grader; should it be installed, a name that is not
    if subprocess.run([sys.executable, "-c", "import matplotlib"], capture_output=True).returncode == 0:
        missing = "matplotlib_is_not_installed"
    path = tmp_path / "my_dropout.ipynb"
    path.write_text(notebook(
        MARKDOWN,
        code_cell("%matplotlib inline\nimport numpy as np"),
        code_cell([f"import {missing}.pyplot as plt\n", "plt.plot([1, 2])"]),
        code_cell(REFERENCE),
        code_cell("for p in (0.1, 0.5):\n    print(undefined_name)"),
        code_cell("while True:\n    train_forever(", "exploration"),
        code_cell("!pip install torch\nx = 1", "skip"),
    ))
    report = grade_json(path)
    assert report["score"] == report["max_score"] and report["problem"] == ""
    notes = report["notes"]
    assert notes[0] == "left out cells 6 and 7 of my_dropout.ipynb, tagged as exploration"
    assert notes[1].startswith("cell 3, line 1 of my_dropout.ipynb: ModuleNotFoundError: "
                               f"No module named '{missing}'\n    import {missing}.pyplot as plt")
    assert notes[2].startswith("cell 5, line 2 of my_dropout.ipynb: NameError: name 'undefined_name' "
                               "is not defined\n    print(undefined_name)")
    assert "can be tagged 'exploration' to leave it out of grading" in notes[1]  # how to keep it out
    table = grade("--submission", path).stdout
    assert "Note: cell 3, line 1 of my_dropout.ipynb: ModuleNotFoundError" in table
    assert "dropout.py" not in table.replace("my_dropout.ipynb", "")


def test_a_notebook_error_points_at_the_cell_and_line_never_at_a_generated_file(tmp_path):
    broken = REFERENCE.replace("def dropout_backward(dout, cache):",
                               "def dropout_backward(dout, cache):\n    raise KeyError('boom')")
    line = broken.splitlines().index("    raise KeyError('boom')") + 1
    path = tmp_path / "mine.ipynb"
    path.write_text(notebook(MARKDOWN, code_cell(broken.splitlines(keepends=True))))
    report = grade_json(path)
    messages = [t["message"] for t in report["tests"] if t["function"] == "dropout_backward"]
    assert messages and all(f"cell 2, line {line} of mine.ipynb, in dropout_backward: raise KeyError('boom')"
                            in m for m in messages), messages
    assert "dropout.py" not in json.dumps(report)

    path.write_text(notebook(MARKDOWN, code_cell("import numpy as np"), code_cell(SYNTAX_ERROR)))
    report = grade_json(path)
    assert_nothing_graded(report, f"mine.ipynb could not be imported: cell 3, line {SYNTAX_LINE} of mine.ipynb: "
                                  "SyntaxError: expected ':'")


def test_warnings_name_the_students_file_and_cell_never_the_workers_folder(tmp_path):
    noisy = REFERENCE.replace("def dropout_forward(x, p, train, rng):",
                              "import warnings\nwarnings.warn('still a draft')\n\n"
                              "def dropout_forward(x, p, train, rng):")
    line = noisy.splitlines().index("warnings.warn('still a draft')") + 1
    (tmp_path / "draft.py").write_text(noisy)
    (tmp_path / "draft.ipynb").write_text(notebook(MARKDOWN, code_cell(noisy)))
    for name, where in (("draft.py", f"draft.py:{line}: UserWarning: still a draft"),
                        ("draft.ipynb", f"cell 2, line {line} of draft.ipynb: UserWarning: still a draft")):
        report = grade_json(tmp_path / name)
        assert report["score"] == report["max_score"]
        assert where in report["output"], report["output"]
        assert "grader-worker" not in report["output"] and "dropout.py" not in report["output"]


def test_gradescope_gives_a_zero_that_says_why_rather_than_no_results(tmp_path):
    """On Gradescope the student reads results.json: an empty upload is a 0 with the reason."""
    result = CliRunner().invoke(main, ["gradescope", "exercise3", "--submission", str(tmp_path), "--out", "-",
                                       "--public-only", "--course", str(ROOT)])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)
    assert results["score"] == 0 and f"no dropout.py found in {tmp_path}" in results["output"]
