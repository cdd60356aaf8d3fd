"""The `grade` command line, through click's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.conftest import ROOT

REPORT_KEYS = {"schema_version", "exercise", "score", "max_score", "tests"}
TEST_KEYS = {"name": str, "function": str, "points": float, "max_points": float, "outcome": str,
             "hidden": bool, "message": str}


def check_report_schema(report: dict, exercise: str) -> None:
    """The JSON report of SPEC.md: these keys, these types; more keys may be added."""
    assert REPORT_KEYS <= set(report)
    assert report["schema_version"] == 1 and report["exercise"] == exercise
    assert isinstance(report["score"], float) and isinstance(report["max_score"], float)
    assert report["tests"]
    for test in report["tests"]:
        assert set(TEST_KEYS) <= set(test)
        for key, kind in TEST_KEYS.items():
            assert type(test[key]) is kind, (key, test)
        assert test["outcome"] in ("passed", "failed", "error", "timeout")
        assert 0 <= test["points"] <= test["max_points"]
        assert test["outcome"] == "passed" or test["message"]
    assert report["score"] == sum(t["points"] for t in report["tests"])
    assert report["max_score"] == sum(t["max_points"] for t in report["tests"])


def invoke(*args):
    return CliRunner().invoke(main, [*args, "--course", str(ROOT)] if args and args[0] not in
                              ("--help", "--version") else list(args))


def test_json_report_of_the_reference_has_full_marks_and_the_schema():
    result = invoke("exercise3", "--submission", str(ROOT / "solutions/exercise3"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    check_report_schema(report, "exercise3")
    assert report["score"] == report["max_score"] > 0


def test_module_file_and_notebook_submissions(tmp_path):
    import nbformat
    code = (ROOT / "solutions/exercise3/dropout.py").read_text()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Dropout"), nbformat.v4.new_code_cell("%matplotlib inline"),
                nbformat.v4.new_code_cell(code)]
    test_cell = nbformat.v4.new_code_cell("assert False")
    test_cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    nb.cells.append(test_cell)
    nbformat.write(nb, tmp_path / "mine.ipynb")
    (tmp_path / "renamed.py").write_text(code)
    for path in (tmp_path / "mine.ipynb", tmp_path / "renamed.py"):
        report = json.loads(invoke("exercise3", "--submission", str(path), "--json").stdout)
        assert report["score"] == report["max_score"], path


def test_human_report_of_the_stub_has_a_line_per_test_and_the_total():
    result = invoke("exercise3")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("exercise3: ")
    assert sum("not implemented yet" in line for line in lines) >= 4
    assert re.search(r"^Score: 0 / \d+", result.stdout, re.M)


def test_strict_exits_1_below_full_marks():
    assert invoke("exercise3", "--strict").exit_code == 1


@pytest.mark.parametrize("args, words", [
    (["exercise9"], "unknown exercise 'exercise9'"),
    (["exercise3", "--submission", "/no/such/path"], "does not exist"),
])
def test_usage_errors_exit_2_with_one_line(args, words):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and words in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_path_without_a_module_is_a_usage_error(tmp_path):
    """Issue 10 (filed after the SPEC's older decision, which it overrides): exit 2, one line."""
    result = invoke("exercise3", "--submission", str(tmp_path), "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: no dropout.py found in {tmp_path}")
    assert result.stderr.count("\n") == 1


def test_grade_all_json():
    result = invoke("all", "--json", "--public-only")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1 and len(data["exercises"]) == 4
    for report in data["exercises"]:
        check_report_schema(report, report["exercise"])
    assert data["score"] == 0 and data["max_score"] == sum(r["max_score"] for r in data["exercises"])


def test_validate_and_build_check_pass_on_the_repository():
    assert invoke("build", "--check").exit_code == 0
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert "course is valid" in result.stdout


def all_commands(group=main, prefix=()):
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for path, command in all_commands():
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.stdout
        assert command.help, f"grade {' '.join(path)} has no help text"
        assert f"grade {' '.join(path)}" in readme, f"grade {' '.join(path)} is not in the README"


def test_the_console_script_runs_in_a_subprocess():
    run = subprocess.run([sys.executable, "-m", "grader", "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and "exercise3" in run.stdout
