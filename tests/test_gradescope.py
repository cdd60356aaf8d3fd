"""`grade gradescope`: a GradeReport as Gradescope's autograder results.json."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import gradescope
from grader.cli import main
from grader.course import load_course
from grader.grade import grade
from grader.report import GradeReport
from grader.report import TestResult as Result  # not "Test...": pytest would try to collect it

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "solutions" / "exercise3" / "dropout.py"

REPORT = GradeReport(exercise="exercise3", output="debug: p = 0.5\n", tests=(
    Result("dropout_forward: test mode is the identity", "dropout_forward", 2.0, "passed", False),
    Result("dropout_forward: kept units are scaled", "dropout_forward", 3.0, "failed", False,
               "kept units must be scaled by 1/(1-p)"),
    Result("dropout_backward: same mask", "dropout_backward", 4.0, "passed", True),
    Result("vanilla_dropout_forward: keep rate", "vanilla_dropout_forward", 1.5, "timeout", True,
               "did not finish within 10 s"),
))


def test_every_test_has_gradescope_fields_and_hidden_ones_wait_for_publication():
    results = gradescope.results(REPORT)
    assert results["score"] == 6.0
    assert [(t["score"], t["max_score"], t["status"], t["visibility"]) for t in results["tests"]] == [
        (2.0, 2.0, "passed", "visible"), (0.0, 3.0, "failed", "visible"),
        (4.0, 4.0, "passed", "after_published"), (0.0, 1.5, "failed", "after_published")]
    assert results["tests"][0]["name"] == "dropout_forward: test mode is the identity"
    assert results["tests"][1]["output"] == "FAIL: kept units must be scaled by 1/(1-p)"
    assert results["tests"][3]["output"] == "TIME: did not finish within 10 s"
    assert results["tests"][0]["output"] == ""
    assert json.loads(gradescope.results_json(REPORT)) == results


def test_what_students_see_at_once_reveals_nothing_hidden():
    overall = gradescope.results(REPORT)["output"]
    assert "public tests 2 / 5 points (1 of 2 passed)" in overall
    assert "Hidden tests: 2, worth 5.5 points" in overall
    assert "p = 0.5" not in overall  # printed output could echo a hidden test's inputs
    assert gradescope.results(REPORT)["stdout_visibility"] == "hidden"


def test_printed_output_is_shown_when_no_test_is_hidden_but_sandbox_warnings_are_not():
    public = GradeReport(exercise="exercise3", tests=REPORT.tests[:2], output="debug: p = 0.5\n",
                         warnings=("the sandbox is weaker here",))
    overall = gradescope.results(public, execution_time=2.4)
    assert "  | debug: p = 0.5" in overall["output"]
    assert "sandbox" not in overall["output"]  # the instructor's business: it is in stdout
    assert overall["execution_time"] == 2


needs_exercise3 = pytest.mark.skipif(not (REPO / "solutions" / "exercise3" / "test_hidden.py").is_file(),
                                     reason="exercise3's tests are not written yet")


@needs_exercise3
def test_the_command_writes_results_json_with_the_scores_of_grade(tmp_path):
    submission = tmp_path / "dropout.py"
    submission.write_text(REFERENCE.read_text().replace("/ (1 - p)", ""))  # no inverted scaling
    out = tmp_path / "results.json"
    result = CliRunner().invoke(main, ["gradescope", "exercise3", "--submission", str(submission),
                                       "--out", str(out), "--course", str(REPO)])
    assert result.exit_code == 0, result.output
    report = grade(load_course(REPO), "exercise3", submission)
    results = json.loads(out.read_text())
    assert results["score"] == report.score < report.max_score
    assert [t["score"] for t in results["tests"]] == [t.points for t in report.tests]
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_published"}
    assert "Score:" in result.stdout  # the instructor's view, in Gradescope's stdout box


@needs_exercise3
def test_out_dash_prints_only_the_json(tmp_path):
    result = CliRunner().invoke(main, ["gradescope", "exercise3", "--submission", str(REFERENCE),
                                       "--out", "-", "--course", str(REPO)])
    assert result.exit_code == 0
    results = json.loads(result.stdout)
    total = sum(t["max_score"] for t in results["tests"])
    assert results["score"] == results["extra_data"]["max_score"] == total


def test_a_missing_output_folder_is_a_usage_error(tmp_path):
    out = tmp_path / "nowhere" / "results.json"
    result = CliRunner().invoke(main, ["gradescope", "exercise3", "--submission", str(REFERENCE),
                                       "--out", str(out), "--course", str(REPO)])
    assert result.exit_code == 2 and result.stderr.startswith("Error:")
