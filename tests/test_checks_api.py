"""The test-authoring API (`grader.checks`) against a real sandboxed worker: `each` gives one
outcome per call and goes on past a failing call, a generator shared by several calls
advances as with local calls, `returns=` validates tuples and shapes, and `gradcheck` says
exactly what it computed."""

import numpy as np
import pytest

from grader.checks import (CheckFailed, InputModified, StudentError, array, as_scalar, fail, gradcheck,
                           mistake, stats)
from grader.checks.context import set_function_under_test
from tests.conftest import ROOT

REFERENCE = (ROOT / "solutions" / "exercise3" / "dropout.py").read_text()


@pytest.fixture
def submit(sandboxed):
    """A sandboxed submission of exercise3: the reference with `extra` code appended."""
    return lambda extra="": sandboxed("exercise3", extra)


def local_reference():
    namespace: dict = {}
    exec(compile(REFERENCE, "dropout.py", "exec"), namespace)
    return namespace


def test_a_generator_shared_by_calls_advances_from_call_to_call(submit):
    student, local = submit(), local_reference()
    x = np.full((20, 30), 10.0)
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    outs = [out for out, _ in student.dropout_forward.each([(x, 0.5, True, rng)] * 3)]
    expected = [local["dropout_forward"](x, 0.5, True, twin)[0] for _ in range(3)]
    for got, want in zip(outs, expected):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(outs[0], outs[1])  # 600 units: equal masks have probability 2^-600
    assert rng.bit_generator.state == twin.bit_generator.state  # the caller's generator advanced too


def test_each_gives_an_outcome_per_call_and_goes_on_past_a_failing_one(submit):
    student = submit('''
_forward = dropout_forward
def dropout_forward(x, p, train, rng):
    if p == 0.5:
        raise ZeroDivisionError("half")
    return _forward(x, p, train, rng)
''')
    x = np.ones((3, 4)) + 9
    results = student.dropout_forward.each([(x, 0.2, False, None), (x, 0.5, False, None), (x, 0.3, False, None)])
    assert np.array_equal(results[0][0], x)
    with pytest.raises(StudentError, match="ZeroDivisionError: half") as raised:
        results[1]
    assert raised.value.exc_type == "ZeroDivisionError"
    assert np.array_equal(results[2][0], x)  # the worker went on: the third call ran
    assert student.generation == 1  # in the same worker


def test_an_argument_changed_in_place_fails_only_its_own_call(submit):
    student = submit('''
def dropout_backward(dout, cache):
    if dout.shape == (2,):
        dout *= 2
    return dout
''')
    results = student.dropout_backward.each([(np.ones(3), None), (np.ones(2), None), (np.ones(4), None)])
    assert results[0].tolist() == [1, 1, 1]
    with pytest.raises(InputModified, match="changed its argument 'dout' in place"):
        results[1]
    assert results[2].tolist() == [1] * 4


def test_returns_validates_the_tuple_and_the_shapes(submit):
    student = submit('''
def dropout_forward(x, p, train, rng):
    if p == 0.1:
        return x
    if p == 0.2:
        return x[:1], None
    return x * 1.0, None
''')
    set_function_under_test("dropout_forward")
    x = np.ones((3, 4))
    results = student.dropout_forward.each([(x, p, False, None) for p in (0.1, 0.2, 0.3)],
                                           returns=(array("out", like="x"), "cache"))
    with pytest.raises(CheckFailed, match=r"must return a tuple \(out, cache\); it returned an array"):
        results[0]
    with pytest.raises(CheckFailed, match=r"out from dropout_forward has shape \(1, 4\); expected \(3, 4\)"):
        results[1]
    out, cache = results[2]
    assert out.shape == (3, 4) and cache is None
    set_function_under_test("")


def test_a_mistake_carries_its_id_and_fail_names_the_function_under_test():
    set_function_under_test("dropout_forward")
    try:
        with pytest.raises(CheckFailed) as raised:
            fail(mistake("dropout.keep_prob_swap", "you used p = {p} as the keep probability"), p=0.2)
        assert str(raised.value) == "dropout_forward: you used p = 0.2 as the keep probability"
        assert raised.value.mistake == "dropout.keep_prob_swap"
        with pytest.raises(ValueError, match="dotted lowercase name"):
            mistake("keep prob", "x")
    finally:
        set_function_under_test("")


def test_as_scalar_takes_numbers_and_refuses_the_rest():
    assert as_scalar(np.float32(1.5)) == 1.5 and as_scalar(np.array([2.0])) == 2.0 and as_scalar(3) == 3.0
    for value, words in ((None, "as a number; it returned None"), (np.ones(2), "as a number"),
                         (True, "as a number"), (float("nan"), "is nan")):
        with pytest.raises(CheckFailed, match=words):
            as_scalar(value, "l2_penalty", "the penalty")


def test_gradcheck_says_a_backward_could_not_be_checked_when_the_forward_crashes(submit):
    student = submit('''
def dropout_forward(x, p, train, rng):
    raise RuntimeError("boom")
''')
    set_function_under_test("dropout_backward")
    x = np.ones((2, 3)) + 9
    with pytest.raises(StudentError, match=r"dropout_backward could not be checked: dropout_forward failed, so "
                                           r"there is no cache to give dropout_backward: fix dropout_forward "
                                           r"first. dropout_forward raised RuntimeError: boom"):
        gradcheck(student.dropout_forward, student.dropout_backward, (x, 0.3, True, np.random.default_rng(1)),
                  wrt="x", dout=np.ones((2, 3)), expected=lambda out: np.ones((2, 3)))
    set_function_under_test("")


def test_gradcheck_blames_the_backward_only_when_it_is_not_the_forwards_gradient(submit):
    # forward doubles x (wrong), backward returns 2 * dout: the exact gradient of that forward
    consistent = submit('''
def dropout_forward(x, p, train, rng):
    return 2 * x, None
def dropout_backward(dout, cache):
    return 2 * dout
''')
    set_function_under_test("dropout_backward")
    x, dout = np.ones((2, 3)), np.arange(6.0).reshape(2, 3)
    try:
        check = gradcheck(consistent.dropout_forward, consistent.dropout_backward, (x, 0.0, False, None), wrt="x",
                          dout=dout, expected=dout)
        np.testing.assert_array_equal(check.grads["dx"], 2 * dout)  # passed: one mistake, one deduction
        inconsistent = submit('''
def dropout_forward(x, p, train, rng):
    return 2 * x, None
def dropout_backward(dout, cache):
    return 3 * dout
''')
        with pytest.raises(CheckFailed, match="does not match a numerical gradient of your dropout_forward"):
            gradcheck(inconsistent.dropout_forward, inconsistent.dropout_backward, (x, 0.0, False, None),
                      wrt="x", dout=dout, expected=dout)
    finally:
        set_function_under_test("")


@pytest.mark.parametrize("n, p", [(510, 0.3), (24, 0.3), (60_000, 0.1), (250_001, 0.7)])
def test_the_binomial_interval_holds_what_it_claims(n, p):
    # The Chernoff bound is never narrower than the exact interval (scipy's binom.ppf at
    # 0.5e-9 and 1 - 0.5e-9): checked here against the exact tail sums, computed in float64
    # with the log-pmf, over every count outside the interval.
    lo, hi = stats.binomial_interval(n, p)
    k = np.arange(n + 1)
    from math import lgamma, log
    logpmf = np.array([lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) for i in k]) + k * log(p) + (n - k) * log(1 - p)
    outside = np.exp(logpmf[(k / n < lo) | (k / n > hi)]).sum()
    assert outside <= stats.ALPHA
    assert lo < p < hi


def test_mistakes_come_from_the_exercises_catalogue_and_a_bad_one_says_where(tmp_path):
    from grader.checks.mistakes import catalogue_of
    from grader.errors import CourseTestError

    (tmp_path / "mistakes.yml").write_text("demo.adds_a: >-\n  out is x + a:\n  scale, do not add\n")
    with catalogue_of(tmp_path):
        assert mistake("demo.adds_a").text == "out is x + a: scale, do not add"
        with pytest.raises(CourseTestError, match=r"'demo\.typo' is not in .*mistakes\.yml"):
            mistake("demo.typo")
    for text, words in (("- a list\n", "must map each mistake id"), ("Bad Id: x\n", "is not a mistake id"),
                        ("demo.empty: ''\n", "must be a non-empty text"), ("a: [\n", "could not be read")):
        (tmp_path / "mistakes.yml").write_text(text)
        with pytest.raises(CourseTestError, match=words):
            with catalogue_of(tmp_path):
                pass



def test_validate_names_a_catalogued_mistake_that_no_test_uses(tmp_path):
    from grader.course import load_course
    from grader.validate import _unused_mistakes
    from tests.conftest import copy_course

    root = copy_course(tmp_path / "course")
    catalogue = root / "solutions" / "exercise3" / "mistakes.yml"
    catalogue.write_text(catalogue.read_text() + "dropout.never_used: >-\n  no test names this\n")
    exercise = load_course(root).exercise("exercise3")
    assert _unused_mistakes(exercise) == ["exercise3: mistakes.yml has 'dropout.never_used', which no test "
                                          "uses (mistake('dropout.never_used'))"]
