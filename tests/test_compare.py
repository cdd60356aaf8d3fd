"""grader.checks.compare against a real sandboxed worker (exercise4's batch and layer norm,
whose running statistics a call may update in place): `against_reference`,
`check_per_sample`, `Failures`, `public_tests`; and `Mistake.variant`, `gradcheck(oracle=)`."""

from types import SimpleNamespace

import numpy as np
import pytest

from grader.checks import (CheckFailed, Failures, StudentError, against_reference, array, assert_close,
                           check_per_sample, gradcheck, mistake, public_tests)
from grader.checks.context import set_function_under_test
from tests.conftest import ROOT

REFERENCE = (ROOT / "solutions" / "exercise4" / "normalization.py").read_text()
OUT = (array("out", like="x"), "cache")
WRONG = mistake("demo.wrong", "you subtracted {what}")


@pytest.fixture
def submit(sandboxed):
    """A sandboxed submission of exercise4: the reference with `extra` code appended."""
    return lambda extra="": sandboxed("exercise4", extra)


@pytest.fixture
def reference():
    namespace: dict = {}
    exec(compile(REFERENCE, "normalization.py", "exec"), namespace)
    return SimpleNamespace(**namespace)


def batch(seed, shape=(6, 4)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) * 2 + 1, rng.uniform(0.5, 2, shape[1]), rng.normal(size=shape[1])


def test_against_reference_passes_the_reference_and_lets_the_test_see_in_place_updates(submit, reference):
    set_function_under_test("batchnorm_forward")
    student = submit()
    x, gamma, beta = batch(1)
    mean, var = np.zeros(4), np.ones(4)
    seen = []
    results = against_reference(student.batchnorm_forward, reference, [(x, gamma, beta, mean, var, True)],
                                returns=OUT, mistakes=lambda *args: seen.append(args) or {})
    assert results[0][0].shape == x.shape
    np.testing.assert_allclose(mean, 0.1 * x.mean(axis=0))  # the student's call updated the caller's array
    assert np.array_equal(seen[0][3], np.zeros(4))  # mistakes (and the reference) got the arguments as given


def test_against_reference_names_the_mistake_of_the_call(submit, reference):
    set_function_under_test("layernorm_forward")
    student = submit('''
_layernorm = layernorm_forward
def layernorm_forward(x, gamma, beta, eps=1e-5):
    out, cache = _layernorm(x, gamma, beta, eps)
    return out - 1.0, cache
''')
    cases = [batch(2), batch(3, (3, 5))]
    with pytest.raises(CheckFailed, match="layernorm_forward: you subtracted one") as failed:
        against_reference(student.layernorm_forward, reference, cases, returns=OUT,
                          mistakes=lambda x, gamma, beta: {WRONG.variant(what="one"): reference.layernorm_forward(
                              x, gamma, beta)[0] - 1.0})
    assert failed.value.mistake == "demo.wrong"
    with pytest.raises(CheckFailed, match=r"out is wrong: largest difference 1 .*\. the hint"):
        against_reference(student.layernorm_forward, reference, cases, returns=OUT, hint="the {what}", what="hint")


def test_against_reference_fails_a_call_that_changes_what_it_must_leave(submit, reference):
    set_function_under_test("batchnorm_forward")
    student = submit('''
_batchnorm = batchnorm_forward
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    out = _batchnorm(x, gamma, beta, running_mean, running_var, train, momentum, eps)
    running_var += 0.0 if train else 1.0
    return out
''')
    x, gamma, beta = batch(4)
    calls = [(x, gamma, beta, np.zeros(4), np.ones(4), False)]
    with pytest.raises(CheckFailed, match="batchnorm_forward: running_var changed; this call must leave it") as failed:
        against_reference(student.batchnorm_forward, reference, calls, returns=OUT,
                          unchanged=("running_mean", "running_var"))
    assert failed.value.mistake == ""
    with pytest.raises(CheckFailed, match="you subtracted nothing") as failed:
        against_reference(student.batchnorm_forward, reference, calls, returns=OUT, unchanged=("running_var",),
                          changed=WRONG.variant(what="nothing"))
    assert failed.value.mistake == "demo.wrong"
    against_reference(student.batchnorm_forward, reference, [(x, gamma, beta, np.zeros(4), np.ones(4), False)],
                      returns=OUT, unchanged=("running_mean",))  # it changes running_var only


def test_check_per_sample_compares_each_part_with_the_reference_and_with_the_whole_batch(submit, reference):
    set_function_under_test("layernorm_forward")
    x, gamma, beta = batch(5, (5, 7))
    check_per_sample(submit().layernorm_forward, reference, lambda part: (part, gamma, beta), x,
                     [slice(2, 3), slice(0, 2)], returns=OUT, hint="on its own")
    student = submit('''
_layernorm = layernorm_forward
def layernorm_forward(x, gamma, beta, eps=1e-5):
    out, cache = _layernorm(x, gamma, beta, eps)
    return out + 0.01 * (len(x) - 1), cache
''')  # right for one sample alone, not in a batch
    with pytest.raises(CheckFailed, match=r"out for a batch of 1 sample\(s\) is wrong: .*expected .*\. on its own"):
        check_per_sample(student.layernorm_forward, reference, lambda part: (part, gamma, beta), x,
                         [slice(2, 3)], returns=OUT, hint="on its own",
                         mistakes=lambda x, gamma, beta: {WRONG: lambda out: True})
    with pytest.raises(CheckFailed, match="you subtracted the batch"):  # the reference comes first
        check_per_sample(student.layernorm_forward, reference, lambda part: (part, gamma, beta), x,
                         [slice(0, 2)], returns=OUT, hint="on its own",
                         mistakes=lambda x, gamma, beta: {WRONG.variant(what="the batch"): lambda out: True})


def test_check_per_sample_says_what_a_value_error_on_fewer_samples_means(submit, reference):
    set_function_under_test("layernorm_forward")
    student = submit('''
_layernorm = layernorm_forward
def layernorm_forward(x, gamma, beta, eps=1e-5):
    if len(x) < 2:
        raise ValueError("too few")
    return _layernorm(x, gamma, beta, eps)
''')
    x, gamma, beta = batch(6, (4, 3))
    args = (student.layernorm_forward, reference, lambda part: (part, gamma, beta), x, [slice(0, 1)])
    with pytest.raises(CheckFailed, match=r"layernorm_forward: 1 sample\(s\) refused: layernorm_forward raised ValueError: too few"):
        check_per_sample(*args, returns=OUT, hint="", raises="{n} sample(s) refused: {error}")
    with pytest.raises(StudentError, match="too few"):  # without `raises`, the error is the test's error
        check_per_sample(*args, returns=OUT, hint="")


def test_failures_reports_every_failure_and_names_the_first_mistake():
    set_function_under_test("f")
    failures = Failures()
    for name, actual in (("a", 1.0), ("b", 2.0), ("c", 3.0)):
        with failures:
            assert_close(np.array(actual), np.array(1.0), name=name, mistakes={WRONG.variant(what=name): 3.0})
    with pytest.raises(CheckFailed) as failed:
        failures.raise_all()
    lines = str(failed.value).splitlines()
    assert len(lines) == 2 and lines[0].startswith("f: b is wrong") and lines[1] == "f: you subtracted c"
    assert failed.value.mistake == "demo.wrong"
    Failures().raise_all()  # nothing failed: nothing raised
    with pytest.raises(ZeroDivisionError), Failures():  # anything else is not a finding: it goes through
        1 / 0


def test_public_tests_loads_the_public_module_next_to_a_file(tmp_path):
    (tmp_path / "test_public.py").write_text("ANSWER = 42\n")
    assert public_tests(str(tmp_path / "test_hidden.py")).ANSWER == 42


def test_a_variant_keeps_the_id_and_binds_more():
    m = mistake("demo.wrong", "{name} is {what}")
    v = m.variant(" ({why})", name="x").variant(what="late")
    assert v.id == "demo.wrong" and v.format(why="always") == "x is late (always)"
    assert str(m.variant(name="y", what="early")) == "y is early"


def test_gradcheck_with_an_oracle_is_gradcheck_with_its_answers(submit, reference):
    set_function_under_test("batchnorm_backward")
    student = submit('''
def batchnorm_backward(dout, cache):
    xhat, gamma, std, train = cache
    return gamma * dout / std, (dout * xhat).sum(axis=0), dout.sum(axis=0)
''')
    x, gamma, beta = batch(7, (5, 3))
    dout = np.random.default_rng(8).normal(size=x.shape)
    correct = submit()
    gradcheck(correct.batchnorm_forward, correct.batchnorm_backward, (x, gamma, beta, np.zeros(3), np.ones(3), True),
              wrt=("x", "gamma", "beta"), dout=dout, oracle=reference)
    ref_out, ref_cache = reference.batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), True)
    messages = []
    for options in ({"oracle": reference}, {"expected": reference.batchnorm_backward(dout, ref_cache),
                                             "forward_expected": ref_out}):
        with pytest.raises(CheckFailed) as failed:
            gradcheck(student.batchnorm_forward, student.batchnorm_backward, (x, gamma, beta, np.zeros(3),
                      np.ones(3), True), wrt=("x", "gamma", "beta"), dout=dout, **options)
        messages.append(str(failed.value))
    assert messages[0] == messages[1] and "dx is wrong" in messages[0]
