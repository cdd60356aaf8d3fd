"""The reference solutions, each checked by the oracle next to it.

`solutions/<id>/oracle.py` is a pytest file that compares the reference with torch in
float64 (values, autograd, torch.optim, torch.nn.init's scales) or, for a random
function, checks its draws with bounds whose false-failure probability it states. An
exercise's oracle lives with its reference, so adding an exercise adds nothing here.
torch is imported by these oracles only; the grading path never imports it.
"""
from __future__ import annotations

import os

import pytest

from grader.course import load_course
from tests.conftest import ROOT

ORACLES = [ex.solution_dir / "oracle.py" for ex in load_course(ROOT).exercises
           if (ex.solution_dir / "oracle.py").is_file()]


@pytest.mark.parametrize("oracle", ORACLES, ids=[path.parent.name for path in ORACLES])
def test_the_reference_agrees_with_its_oracle(oracle):
    """The oracle runs in a pytest session of its own, in this process (torch is imported
    once); its report is in this test's captured output."""
    status = pytest.main([str(oracle), "-q", "-p", "no:cacheprovider", "-c", os.devnull,
                          "--rootdir", str(ROOT), "--import-mode=importlib"])
    assert status == pytest.ExitCode.OK, f"{oracle.relative_to(ROOT)} failed: its report is in the captured output"
