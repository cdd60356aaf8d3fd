"""Everything an exercise's tests use, in one import.

- Calling the student: `student.f(*args)` (one call in the sandbox) and
  `student.f.each(calls, returns=...)` (many calls in one round trip, each result validated
  and raising its own error when taken: see `grader.checks.calls`); `array(...)` and
  `call(...)` describe results and keyword calls.
- Results: `as_array`, `as_scalar`, `returned`, `assert_close` (names catalogued mistakes),
  `expect_value_error`; `against_reference` (each of many calls against the same call of the
  reference), `check_per_sample` (a sample's result does not depend on its batch), `Failures`
  (report every failure of independent checks); `public_tests(__file__)`: a hidden test
  file's access to the public one (grader.checks.compare).
- Mistakes: `mistake(id, message)`; `fail(mistake_or_message, **placeholders)`.
- Gradients: `gradcheck` (forward, backward, oracle, named mistakes and the gradient of the
  student's own forward pass: one mistake, one deduction), `gradcheck_each` (several cases of
  one pair in two round trips), `relative_error`, `GRAD_TOL`.
- Randomness and statistics: `seeded`, `normal_input`, `check_draws_from_rng`, `stats`
  (binomial intervals, Hoeffding, DKW/KS), `neighbour_agreement` (independent Bernoulli
  indicators along an axis), `samples` (random draws against N(0, std^2) and
  U(-a, a)), all with false-failure probability <= 1e-9.
- `note(text)`: what a passing test has to say; `figure(title, kind, data)`: numbers the
  report draws (grader/figures.py). `StudentError`, `StudentTimeout`,
  `InputModified`: what the student's code can raise through the sandbox.
- Languages: every message given to `fail`, `mistake`, `note`, `expect_value_error(why=)`,
  `assert_close(hint=)` and `check_draws_from_rng(what=)` is shown in the student's language:
  write it as a plain string literal with `{name}` placeholders filled from keyword arguments
  (`fail("with p = {p} ...", p=p)`), never an f-string. A text chosen at run time is marked
  where it is written, `N_("...")`, and translated where it is used, `tr(text)`.

Every failure raises `CheckFailed`, whose text is the feedback the student reads, so write it
for them: what is wrong and what to do. It is prefixed with the function the running test
grades (the first word of the test's docstring).
"""

from grader.checks import stats
from grader.checks import samples  # random draws against N(0, std^2) and U(-a, a)
from grader.checks.arrays import (CheckFailed, as_array, as_scalar, assert_close, describe, expect_value_error,
                                  fail, matches, named_mistake, unpack)
from grader.checks.batched import gradcheck_each
from grader.checks.bernoulli import neighbour_agreement
from grader.checks.calls import InputModified, Results, array, call, returned
from grader.checks.compare import Failures, against_reference, check_per_sample, public_tests
from grader.checks.context import function_under_test
from grader.checks.gradients import (GRAD_TOL, DirectionalGradient, GradCheck, check_backward,
                                     directional_gradient, gradcheck, keeps_points, numerical_gradient,
                                     relative_error)
from grader.checks.inputs import normal_input, seeded
from grader.checks.mistakes import Mistake, mistake
from grader.checks.notes import figure, note
from grader.checks.rng import check_draws_from_rng
from grader.i18n import N_
from grader.i18n import _ as tr
from grader.sandbox.proxy import StudentError, StudentTimeout

__all__ = ["N_", "tr", "CheckFailed", "DirectionalGradient", "GRAD_TOL", "GradCheck", "InputModified", "Mistake", "Results",
           "StudentError", "StudentTimeout", "array", "as_array", "as_scalar", "assert_close", "call",
           "check_backward", "check_draws_from_rng", "describe", "directional_gradient", "expect_value_error",
           "fail", "figure", "function_under_test", "gradcheck", "keeps_points", "matches", "mistake", "named_mistake",
           "normal_input", "note", "numerical_gradient", "relative_error", "returned", "seeded", "stats",
           "unpack", "samples", "Failures", "against_reference", "check_per_sample", "public_tests",
           "gradcheck_each", "neighbour_agreement"]

