"""Code that runs too long: one wait per endless loop, and a student who hears that
grading goes on. The course here is the real one with a 5 s call limit (above the 3 s
after which `grade` says that it is still working)."""

import json

import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.conftest import ROOT, copy_course

REFERENCE = ROOT / "solutions" / "exercise3" / "dropout.py"


@pytest.fixture(scope="module")
def slow_course(tmp_path_factory):
    return copy_course(tmp_path_factory.mktemp("slow-course"), limits="limits:\n  call_seconds: 5\n")


def test_an_endless_loop_costs_one_wait_and_its_other_tests_say_why(slow_course, tmp_path):
    hanging = tmp_path / "dropout.py"
    hanging.write_text(REFERENCE.read_text().replace(
        "def dropout_forward(x, p, train, rng):\n", "def dropout_forward(x, p, train, rng):\n    while True:\n        pass\n"))
    result = CliRunner().invoke(main, ["exercise3", "--submission", str(hanging), "--json",
                                       "--public-only", "--course", str(slow_course)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    forward = [t for t in report["tests"] if t["function"] == "dropout_forward"]
    assert len(forward) >= 3 and all(t["outcome"] == "timeout" for t in forward)
    waited = [t for t in forward if "did not finish within" in t["message"]
              and "not called again" not in t["message"]]
    assert len(waited) == 1, [t["message"] for t in forward]
    assert all("dropout_forward() was not called again: in an earlier test, dropout_forward() did "
               "not finish within 5 s" in t["message"] for t in forward if t not in waited)
    vanilla = [t for t in report["tests"] if t["function"].startswith("vanilla")]
    assert vanilla and all(t["outcome"] == "passed" for t in vanilla)  # other functions still run
    assert "dropout_forward() is still running" in result.stderr and "the limit is 5 s a call" in result.stderr
    # one line when stderr is not a terminal (another call slow under load may add its own)
    assert result.stderr.count("dropout_forward() is still running") == 1
