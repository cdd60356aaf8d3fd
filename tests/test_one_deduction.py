"""One mistake, one deduction (SPEC.md, Decisions): a backward pass that is the exact gradient
of the student's own wrong forward pass keeps its points, and its message names the forward
pass; a wrong backward pass still loses them; a trivial forward pass (zeros) earns nothing on
a test it would pass vacuously. Graded through the real grader, hidden tests included."""

import json

import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.conftest import ROOT as REPO

REFERENCE = {"exercise2": "weight_decay.py", "exercise3": "dropout.py", "exercise4": "normalization.py"}


def grade(tmp_path, exercise, overrides: str) -> list[dict]:
    """The reference module with `overrides` appended (later definitions win), graded."""
    module = REFERENCE[exercise]
    path = tmp_path / module
    path.write_text((REPO / "solutions" / exercise / module).read_text() + "\n\n" + overrides)
    result = CliRunner().invoke(main, [exercise, "--submission", str(path), "--json", "--course", str(REPO)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["tests"]


def of(tests, function):
    chosen = [t for t in tests if t["function"] == function]
    assert chosen, function
    return chosen


# exercise3: inverted and vanilla dropout swapped. Each forward is wrong, and each backward is
# the exact gradient of the forward it goes with (in training and at test time).
DROPOUT_SWAPPED = '''
_inv_f, _inv_b, _van_f, _van_b = dropout_forward, dropout_backward, vanilla_dropout_forward, vanilla_dropout_backward
dropout_forward, dropout_backward = _van_f, _van_b
vanilla_dropout_forward, vanilla_dropout_backward = _inv_f, _inv_b
'''

DROPOUT_WRONG_BACKWARD = '''
def dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * (mask > 0) if train else dout * (1 - p)


def vanilla_dropout_backward(dout, cache):
    mask, p, train = cache
    return dout * mask / (1 - p) if train else dout
'''

DROPOUT_ZEROS = '''
def dropout_forward(x, p, train, rng):
    if not 0 <= p < 1:
        raise ValueError("p must be in [0, 1)")
    return np.zeros_like(x), (p, train)


def dropout_backward(dout, cache):
    return np.zeros_like(dout)


vanilla_dropout_forward, vanilla_dropout_backward = dropout_forward, dropout_backward
'''


@pytest.fixture(scope="module")
def dropout_swapped(tmp_path_factory):
    return grade(tmp_path_factory.mktemp("swapped"), "exercise3", DROPOUT_SWAPPED)


@pytest.mark.parametrize("backward,forward", [("dropout_backward", "dropout_forward"),
                                              ("vanilla_dropout_backward", "vanilla_dropout_forward")])
def test_dropout_backward_of_a_wrong_forward_keeps_its_points(dropout_swapped, backward, forward):
    for t in of(dropout_swapped, backward):
        assert t["outcome"] == "passed" and t["points"] == t["max_points"], t
        assert f"of your {forward}" in t["message"] and "which is wrong" in t["message"] and f"fix {forward}" in t["message"], t
    assert any(t["outcome"] == "failed" for t in of(dropout_swapped, forward))


def test_dropout_wrong_backward_still_loses_its_points(tmp_path):
    tests = grade(tmp_path, "exercise3", DROPOUT_WRONG_BACKWARD)
    for backward in ("dropout_backward", "vanilla_dropout_backward"):
        for t in of(tests, backward):
            assert t["outcome"] == "failed" and t["points"] == 0, t
            assert "exact gradient" not in t["message"], t
    for forward in ("dropout_forward", "vanilla_dropout_forward"):
        assert all(t["outcome"] == "passed" for t in of(tests, forward))


def test_dropout_zero_forward_earns_nothing_vacuously(tmp_path):
    tests = grade(tmp_path, "exercise3", DROPOUT_ZEROS)
    earned = [t for t in tests if t["points"] > 0]
    assert earned == []  # not even a test it would pass vacuously (all zeros are "0 or x/(1-p)")


# exercise2: penalties off by a factor, gradients exactly theirs
PENALTIES_SCALED = '''
def l2_penalty(weights, lam):
    return float(lam * sum(np.sum(W ** 2) for W in weights))


def l2_grad(W, lam):
    return 2 * lam * W


def l1_penalty(weights, lam):
    return float(0.5 * lam * sum(np.sum(np.abs(W)) for W in weights))


def l1_grad(W, lam):
    return 0.5 * lam * np.sign(W)
'''

GRADS_WRONG = '''
def l2_grad(W, lam):
    return 2 * lam * W


def l1_grad(W, lam):
    return 0.5 * lam * np.sign(W)
'''

PENALTIES_ZERO = '''
def l2_penalty(weights, lam):
    return 0.0


def l2_grad(W, lam):
    return np.zeros_like(W)


l1_penalty, l1_grad = l2_penalty, l2_grad
'''


@pytest.mark.parametrize("backward,forward", [("l2_grad", "l2_penalty"), ("l1_grad", "l1_penalty")])
def test_gradient_of_a_wrong_penalty_keeps_its_points(tmp_path, backward, forward):
    tests = grade(tmp_path, "exercise2", PENALTIES_SCALED)
    for t in of(tests, backward):
        assert t["outcome"] == "passed" and t["points"] == t["max_points"], t
    # a test whose lam is 0 (or whose W is 0) needs no note: dW is right there anyway
    assert any(f"of your {forward}" in t["message"] and "which is wrong" in t["message"] and f"fix {forward}" in t["message"]
               for t in of(tests, backward))
    assert all(t["outcome"] == "failed" for t in of(tests, forward))


def test_wrong_gradient_still_loses_its_points(tmp_path):
    tests = grade(tmp_path, "exercise2", GRADS_WRONG)
    for backward in ("l2_grad", "l1_grad"):
        for t in of(tests, backward):
            assert t["outcome"] == "failed" and t["points"] == 0, t
            assert "exact gradient" not in t["message"], t


def test_zero_penalty_earns_nothing_vacuously(tmp_path):
    tests = grade(tmp_path, "exercise2", PENALTIES_ZERO)
    earned = [t["name"] for t in tests if t["points"] > 0 and t["function"] != "sgd_step"]
    assert earned == [], earned


# exercise4: normalizing with the unbiased variance (a wrong forward pass, in training for batch
# norm), and backward passes that are exactly its gradient
NORM_UNBIASED = '''
def _unbiased_forward(x, gamma, beta, axis, eps):
    n = x.shape[axis]
    mu = x.mean(axis=axis, keepdims=True)
    c = n / (n - 1)
    s = np.sqrt(c * x.var(axis=axis, keepdims=True) + eps)
    xhat = (x - mu) / s
    return gamma * xhat + beta, (xhat, s, gamma, c, axis)


def _unbiased_backward(dout, cache):
    xhat, s, gamma, c, axis = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=axis, keepdims=True)
          - xhat * c * (dxhat * xhat).mean(axis=axis, keepdims=True)) / s
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


_ref_bn_forward, _ref_bn_backward = batchnorm_forward, batchnorm_backward


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if not train:
        out, cache = _ref_bn_forward(x, gamma, beta, running_mean, running_var, train, momentum, eps)
        return out, ("ref", cache)
    _ref_bn_forward(x, gamma, beta, running_mean, running_var, train, momentum, eps)  # running stats
    out, cache = _unbiased_forward(x, gamma, beta, 0, eps)
    return out, ("unbiased", cache)


def batchnorm_backward(dout, cache):
    kind, cache = cache
    return _ref_bn_backward(dout, cache) if kind == "ref" else _unbiased_backward(dout, cache)


def layernorm_forward(x, gamma, beta, eps=1e-5):
    return _unbiased_forward(x, gamma, beta, 1, eps)


layernorm_backward = _unbiased_backward
'''

NORM_WRONG_BACKWARD = '''
_ref_bn_backward, _ref_ln_backward = batchnorm_backward, layernorm_backward


def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = _ref_bn_backward(dout, cache)
    return dx * 1.01, dgamma, dbeta


def layernorm_backward(dout, cache):
    dx, dgamma, dbeta = _ref_ln_backward(dout, cache)
    return dx * 1.01, dgamma, dbeta
'''

NORM_ZERO = '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if train and x.shape[0] < 2:
        raise ValueError("N < 2 in training")
    return np.zeros_like(x), None


def batchnorm_backward(dout, cache):
    return np.zeros_like(dout), np.zeros(dout.shape[1]), np.zeros(dout.shape[1])


def layernorm_forward(x, gamma, beta, eps=1e-5):
    return np.zeros_like(x), None


layernorm_backward = batchnorm_backward
'''


@pytest.fixture(scope="module")
def norm_unbiased(tmp_path_factory):
    return grade(tmp_path_factory.mktemp("unbiased"), "exercise4", NORM_UNBIASED)


@pytest.mark.parametrize("backward,forward", [("batchnorm_backward", "batchnorm_forward"),
                                              ("layernorm_backward", "layernorm_forward")])
def test_norm_backward_of_a_wrong_forward_keeps_its_points(norm_unbiased, backward, forward):
    for t in of(norm_unbiased, backward):
        assert t["outcome"] == "passed" and t["points"] == t["max_points"], t
    assert any(f"of your {forward}" in t["message"] and "which is wrong" in t["message"] and f"fix {forward}" in t["message"]
               for t in of(norm_unbiased, backward))
    assert any(t["outcome"] == "failed" for t in of(norm_unbiased, forward))


def test_norm_wrong_backward_still_loses_its_points(tmp_path):
    tests = grade(tmp_path, "exercise4", NORM_WRONG_BACKWARD)
    for backward in ("batchnorm_backward", "layernorm_backward"):
        for t in of(tests, backward):
            assert t["outcome"] == "failed" and t["points"] == 0, t
            assert "exact gradient" not in t["message"], t


def test_norm_zero_forward_earns_nothing_on_backward_tests(tmp_path):
    tests = grade(tmp_path, "exercise4", NORM_ZERO)
    earned = [t["name"] for t in tests if t["points"] > 0 and t["function"].endswith("_backward")]
    assert earned == [], earned
