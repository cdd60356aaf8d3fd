"""grader.checks additions for exercise tests: `gradcheck_each` against a real sandboxed worker
(the verdicts of one `gradcheck` per case, in two round trips, the test's generators left as
given), and `neighbour_agreement` (independence of Bernoulli indicators along an axis)."""

import numpy as np
import pytest

from grader.checks import CheckFailed, StudentError, gradcheck, gradcheck_each, neighbour_agreement, stats
from grader.checks.context import set_function_under_test
from grader.checks.notes import clear_notes, take_notes



@pytest.fixture
def submit(sandboxed):
    """A sandboxed submission of exercise3 (the reference with `extra` appended) whose round
    trips are counted in `.round_trips`."""
    def make(extra: str = ""):
        submission = sandboxed("exercise3", extra)
        submission.round_trips = 0
        outcomes = submission.outcomes

        def counted(*args, **kwargs):
            submission.round_trips += 1
            return outcomes(*args, **kwargs)
        submission.outcomes = counted
        return submission
    yield make
    set_function_under_test("")


def cases(seed=0):
    """Training cases of dropout: x far from zero, the gradient through the student's own mask."""
    out = []
    for i, (p, shape) in enumerate(((0.2, (6, 5)), (0.7, (5, 6)), (0.5, (4, 4)))):
        rng = np.random.default_rng(seed + i)
        x, dout = rng.standard_normal(shape) + 10, rng.standard_normal(shape)
        out.append(dict(args=(x, p, True, np.random.default_rng(100 + i)), dout=dout,
                        expected=lambda o, dout=dout, p=p: dout * (o != 0) / (1 - p)))
    return out


def test_gradcheck_each_passes_a_correct_backward_in_two_round_trips_and_leaves_the_generators(submit):
    student = submit()
    set_function_under_test("dropout_backward")
    checks = cases()
    states = [c["args"][3].bit_generator.state for c in checks]
    results = gradcheck_each(student.dropout_forward, student.dropout_backward, checks, wrt="x")
    assert student.round_trips == 2  # against 2 per case for gradcheck
    assert [c["args"][3].bit_generator.state for c in checks] == states  # sent as copies
    for check, case in zip(results, cases()):  # the same masks as gradcheck's, case by case
        alone = gradcheck(student.dropout_forward, student.dropout_backward, wrt="x", **case)
        np.testing.assert_array_equal(check.grads["dx"], alone.grads["dx"])
        np.testing.assert_array_equal(check.out, alone.out)


def test_gradcheck_each_raises_a_cases_error_when_it_reaches_that_case(submit):
    # the forward crashes for p = 0.7 only (the second case) and the backward is wrong for
    # p = 0.5 only (the third): the second case's error comes first, as with gradcheck in a loop
    student = submit('''
_forward, _backward = dropout_forward, dropout_backward
def dropout_forward(x, p, train, rng):
    if p == 0.7:
        raise RuntimeError("boom")
    return _forward(x, p, train, rng)
def dropout_backward(dout, cache):
    return 3 * _backward(dout, cache) if cache[1] == 0.5 else _backward(dout, cache)
''')
    set_function_under_test("dropout_backward")
    with pytest.raises(StudentError, match="dropout_backward could not be checked: dropout_forward failed"):
        gradcheck_each(student.dropout_forward, student.dropout_backward, cases(), wrt="x")
    first, _, third = cases()
    gradcheck_each(student.dropout_forward, student.dropout_backward, [first], wrt="x")
    with pytest.raises(CheckFailed, match="does not match a numerical gradient of your dropout_forward"):
        gradcheck_each(student.dropout_forward, student.dropout_backward, [first, third], wrt="x")


def test_gradcheck_each_keeps_the_points_of_a_backward_consistent_with_its_own_forward(submit):
    # forward doubles x (wrong), backward returns 2 * dout: the exact gradient of that forward
    student = submit('''
def dropout_forward(x, p, train, rng):
    return 2 * x, None
def dropout_backward(dout, cache):
    return 2 * dout
''')
    set_function_under_test("dropout_backward")
    x, dout = np.ones((2, 3)), np.arange(6.0).reshape(2, 3)
    clear_notes()
    checks = gradcheck_each(student.dropout_forward, student.dropout_backward,
                            [dict(args=(x, 0.0, False, None)), dict(args=(x + 1, 0.5, False, None))],
                            wrt="x", dout=dout, expected=dout)
    for check in checks:
        np.testing.assert_array_equal(check.grads["dx"], 2 * dout)
    assert "dx is the exact gradient of your dropout_forward, which is wrong: fix dropout_forward" in take_notes()
    # the same dx with a forward that is right (x itself in test mode): dx = 2 * dout is wrong
    student = submit('''
def dropout_forward(x, p, train, rng):
    return x, None
def dropout_backward(dout, cache):
    return 2 * dout
''')
    with pytest.raises(CheckFailed, match="dx"):
        gradcheck_each(student.dropout_forward, student.dropout_backward, [dict(args=(x, 0.0, False, None))],
                       wrt="x", dout=dout, expected=dout)


def test_gradcheck_each_refuses_cases_that_share_a_generator(submit):
    student = submit()
    set_function_under_test("dropout_backward")
    x, dout, rng = np.ones((2, 3)), np.ones((2, 3)), np.random.default_rng(0)
    with pytest.raises(TypeError, match="cases 1 and 2 share one rng"):
        gradcheck_each(student.dropout_forward, student.dropout_backward,
                       [dict(args=(x, 0.5, True, rng)), dict(args=(x, 0.5, True, rng))], wrt="x", dout=dout,
                       expected=dout)


def test_neighbour_agreement_holds_for_independent_indicators_and_not_for_a_shared_draw():
    p = 0.3
    rng = np.random.default_rng(0)
    independent = rng.random((300, 200)) < p
    for axis in (0, 1):
        agree, q, t = neighbour_agreement(independent, p, axis)
        assert q == pytest.approx(p ** 2 + (1 - p) ** 2)
        assert t == pytest.approx(stats.hoeffding(30_000, 1.0))
        assert abs(agree - q) <= t
    shared_rows = np.tile(rng.random(200) < p, (300, 1))  # one mask for every row
    assert neighbour_agreement(shared_rows, p, 0)[0] == 1.0
    agree, q, t = neighbour_agreement(shared_rows, p, 1)
    assert abs(agree - q) <= t + 0.1  # along a row the draws are independent

