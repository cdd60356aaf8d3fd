"""What exercise tests use: result validation, comparisons that name mistakes, gradient
checks and statistical bounds. Every failure raises `CheckFailed` whose text is the
feedback the student reads, so write it for them: what is wrong and what to do.
"""

from grader.checks.arrays import (CheckFailed, as_array, assert_close, describe,
                                  expect_value_error, fail, matches, unpack)
from grader.checks.gradients import (GRAD_TOL, DirectionalGradient, check_backward, directional_gradient, keeps_points,
                                     numerical_gradient, relative_error)
from grader.checks.inputs import normal_input, seeded
from grader.checks.notes import figure, note
from grader.checks import stats

__all__ = ["CheckFailed", "GRAD_TOL", "as_array", "assert_close", "check_backward", "describe", "expect_value_error",
           "fail", "figure", "matches", "normal_input", "note", "DirectionalGradient", "directional_gradient", "keeps_points", "numerical_gradient", "relative_error", "seeded", "stats", "unpack"]
