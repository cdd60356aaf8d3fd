"""The reference solutions, checked against torch in float64 (the micrograd way).

Deterministic functions are compared value by value with torch and its autograd.
Random functions (initializers, dropout) are checked statistically; every bound below
says its false-failure probability (at most 1e-9) and where it comes from. torch is
imported here only: the grading path never imports it.
"""
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def load(exercise, module):
    """Import solutions/<exercise>/<module>.py by path (solutions/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"reference_{exercise}_{module}",
                                                  SOLUTIONS / exercise / f"{module}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


init = load("exercise1", "initializers")
wd = load("exercise2", "weight_decay")
drop = load("exercise3", "dropout")
norm = load("exercise4", "normalization")


def t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def close(actual, expected, rtol=1e-10, atol=1e-12):
    if isinstance(expected, torch.Tensor):
        expected = expected.detach().numpy()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ----------------------------------------------------------------- batch / layer norm

def batch(rng, shape):
    """Inputs with an offset, and a low-variance column (std 1e-3, far below sqrt(eps))
    where misplacing eps changes the result at O(1)."""
    x = rng.normal(0.0, 2.0, size=shape) + rng.normal(0.0, 3.0, size=shape[1])
    x[:, 1] = 5.0 + 1e-3 * rng.normal(size=shape[0])
    return x


@pytest.mark.parametrize("shape, momentum, eps", [((7, 3), 0.1, 1e-5), ((4, 11), 0.1, 1e-5),
                                                  ((5, 4), 0.3, 1e-3)])
def test_batchnorm_train_and_eval_match_torch(shape, momentum, eps):
    rng = np.random.default_rng(0)
    D = shape[1]
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    running_mean, running_var = np.zeros(D), np.ones(D)  # torch's starting values
    torch_mean, torch_var = t(running_mean), t(running_var)
    for step in range(4):  # several steps: the running statistics accumulate
        x, dout = batch(rng, shape), rng.normal(size=shape)
        x_before, gamma_before = x.copy(), gamma.copy()
        out, cache = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var,
                                            True, momentum=momentum, eps=eps)
        dx, dgamma, dbeta = norm.batchnorm_backward(dout, cache)

        xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
        out_t = F.batch_norm(xt, torch_mean, torch_var, gt, bt, training=True,
                             momentum=momentum, eps=eps)
        out_t.backward(t(dout))
        close(out, out_t)
        close(running_mean, torch_mean)
        close(running_var, torch_var)
        close(dx, xt.grad, atol=1e-9)
        close(dgamma, gt.grad)
        close(dbeta, bt.grad)
        assert np.array_equal(x, x_before) and np.array_equal(gamma, gamma_before)

    # Test mode: normalize with what training learned, and leave it unchanged.
    x, dout = batch(rng, shape), rng.normal(size=shape)
    saved_mean, saved_var = running_mean.copy(), running_var.copy()
    out, cache = norm.batchnorm_forward(x, gamma, beta, running_mean, running_var,
                                        False, momentum=momentum, eps=eps)
    dx, dgamma, dbeta = norm.batchnorm_backward(dout, cache)
    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    out_t = F.batch_norm(xt, torch_mean, torch_var, gt, bt, training=False,
                         momentum=momentum, eps=eps)
    out_t.backward(t(dout))
    close(out, out_t)
    close(dx, xt.grad)
    close(dgamma, gt.grad)
    close(dbeta, bt.grad)
    assert np.array_equal(running_mean, saved_mean) and np.array_equal(running_var, saved_var)


def test_batchnorm_updates_the_callers_arrays_in_place():
    rng = np.random.default_rng(1)
    running_mean, running_var = np.zeros(3), np.ones(3)
    ids = id(running_mean), id(running_var)
    norm.batchnorm_forward(rng.normal(size=(6, 3)), np.ones(3), np.zeros(3),
                           running_mean, running_var, True)
    assert (id(running_mean), id(running_var)) == ids
    assert not np.array_equal(running_mean, np.zeros(3))


def test_batchnorm_one_sample_is_an_error_in_training_only():
    x = np.ones((1, 3))
    with pytest.raises(ValueError):
        norm.batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True)
    out, _ = norm.batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), False)
    close(out, x / np.sqrt(1 + 1e-5))


@pytest.mark.parametrize("shape, eps", [((7, 3), 1e-5), ((4, 11), 1e-5), ((3, 5), 1e-3)])
def test_layernorm_matches_torch(shape, eps):
    rng = np.random.default_rng(2)
    D = shape[1]
    x = rng.normal(0.0, 2.0, size=shape) + rng.normal(0.0, 3.0, size=(shape[0], 1))
    x[1] = 5.0 + 1e-3 * rng.normal(size=D)  # a low-variance row: eps placement matters
    gamma, beta, dout = rng.normal(size=D), rng.normal(size=D), rng.normal(size=shape)
    x_before = x.copy()
    out, cache = norm.layernorm_forward(x, gamma, beta, eps=eps)
    dx, dgamma, dbeta = norm.layernorm_backward(dout, cache)

    xt, gt, bt = t(x, True), t(gamma, True), t(beta, True)
    out_t = F.layer_norm(xt, (D,), gt, bt, eps=eps)
    out_t.backward(t(dout))
    close(out, out_t)
    close(dx, xt.grad, atol=1e-9)
    close(dgamma, gt.grad)
    close(dbeta, bt.grad)
    assert np.array_equal(x, x_before)


# ----------------------------------------------------------------------- weight decay

def test_sgd_step_matches_torch_sgd():
    rng = np.random.default_rng(3)
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}
    params = {k: rng.normal(size=s) for k, s in shapes.items()}
    grads = {k: rng.normal(size=s) for k, s in shapes.items()}
    saved = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in grads.items()}
    lr, weight_decay = 0.05, 0.3

    new = wd.sgd_step(params, grads, lr, weight_decay)

    for key in shapes:
        p = t(params[key], True)
        p.grad = t(grads[key])
        # weights decay; biases take a plain SGD step
        decay = weight_decay if key.startswith("W") else 0.0
        torch.optim.SGD([p], lr=lr, weight_decay=decay).step()
        close(new[key], p, rtol=1e-14, atol=1e-15)
        assert new[key] is not params[key]
    assert new is not params and set(new) == set(shapes)
    for before, after in zip(saved, (params, grads)):
        assert all(np.array_equal(before[k], after[k]) for k in shapes)


def test_penalties_and_gradients_match_autograd():
    rng = np.random.default_rng(4)
    weights = [rng.normal(size=(5, 3)), rng.normal(size=(3, 2))]
    weights[0][0, :2] = 0.0  # the L1 subgradient at 0 must be 0, as torch's
    saved = [W.copy() for W in weights]
    lam = 0.7

    ws = [t(W, True) for W in weights]
    l2 = 0.5 * lam * sum((w ** 2).sum() for w in ws)
    l1 = lam * sum(w.abs().sum() for w in ws)
    l2_grads = torch.autograd.grad(l2, ws, retain_graph=True)
    l1_grads = torch.autograd.grad(l1, ws)

    assert type(wd.l2_penalty(weights, lam)) is float
    assert type(wd.l1_penalty(weights, lam)) is float
    close(wd.l2_penalty(weights, lam), l2.item(), rtol=1e-13)
    close(wd.l1_penalty(weights, lam), l1.item(), rtol=1e-13)
    for W, g2, g1 in zip(weights, l2_grads, l1_grads):
        close(wd.l2_grad(W, lam), g2, rtol=1e-14)
        close(wd.l1_grad(W, lam), g1, rtol=1e-14)
    assert all(np.array_equal(a, b) for a, b in zip(weights, saved))


# ---------------------------------------------------------------------- initializers

N_INIT = 784 * 256  # 200,704 weights per draw
ALPHA = 1e-9        # false-failure probability of each statistical bound
# Hoeffding (a mean of N terms in [0, 1]) and DKW (a KS distance) share this half-width:
# P(deviation > H) <= 2 exp(-2 N H**2) = ALPHA, for every N. H = 0.0073043 (NUMERICS.md's
# 0.0073 is a hair tighter, at 1.03e-9).
H = math.sqrt(math.log(2 / ALPHA) / (2 * N_INIT))


def torch_scale(method, fan_in, fan_out):
    """The std (normal) or bound (uniform) that torch.nn.init uses for a torch Linear
    weight of shape (out, in), computed with torch's own fan and gain functions."""
    fi, fo = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(fan_out, fan_in))
    assert (fi, fo) == (fan_in, fan_out)
    if method.startswith("xavier"):  # xavier_normal_ / xavier_uniform_ with gain 1
        std = 1.0 * math.sqrt(2.0 / float(fi + fo))
    else:  # kaiming_normal_ / kaiming_uniform_(mode="fan_in", nonlinearity="relu")
        std = torch.nn.init.calculate_gain("relu") / math.sqrt(fi)
    return math.sqrt(3.0) * std if method.endswith("uniform") else std


HAND_FORMULA = {  # SPEC.md's formulas
    "xavier_normal": lambda fi, fo: math.sqrt(2 / (fi + fo)),
    "xavier_uniform": lambda fi, fo: math.sqrt(6 / (fi + fo)),
    "he_normal": lambda fi, fo: math.sqrt(2 / fi),
    "he_uniform": lambda fi, fo: math.sqrt(6 / fi),
}
SHAPES = [(784, 256), (256, 784)]  # both orientations: equal fans hide fan_in/fan_out mix-ups


def ks_distance(W, cdf):
    """sup |empirical CDF - cdf| of W's entries."""
    w = np.sort(W.ravel())
    n = w.size
    F_w = cdf(t(w)).numpy()
    return max(np.max(np.arange(1, n + 1) / n - F_w), np.max(F_w - np.arange(n) / n))


@pytest.mark.parametrize("fan_in, fan_out", SHAPES)
@pytest.mark.parametrize("method", ["xavier_normal", "he_normal"])
def test_normal_initializers_have_the_right_std(method, fan_in, fan_out):
    std = torch_scale(method, fan_in, fan_out)
    assert HAND_FORMULA[method](fan_in, fan_out) == pytest.approx(std, rel=1e-13)
    W = getattr(init, method)(fan_in, fan_out, np.random.default_rng(5))
    assert W.shape == (fan_in, fan_out)
    # sum(W**2)/std**2 ~ chi2(N): the bounds are sqrt(chi2.ppf([5e-10, 1 - 5e-10], N) / N)
    # from NUMERICS.md (scipy.stats.chi2), rounded outward; torch.special.gammainc gives
    # tails 4.98e-10 and 4.93e-10, so P(false failure) <= ALPHA.
    rms_ratio = np.sqrt(np.mean(W ** 2)) / std
    assert 0.99037 <= rms_ratio <= 1.00966
    # mean(W) ~ N(0, std**2/N): |mean|/std <= z/sqrt(N) with z = 6.1107 (two-sided normal
    # tail erfc(z/sqrt(2)) = 9.9e-10).
    assert abs(W.mean()) / std <= 0.01364
    # Shape: KS distance to N(0, std**2) within the DKW bound H (P <= ALPHA); a uniform
    # with the same std sits at 0.057.
    assert ks_distance(W, lambda w: 0.5 * torch.special.erfc(-w / (std * math.sqrt(2)))) <= H


@pytest.mark.parametrize("fan_in, fan_out", SHAPES)
@pytest.mark.parametrize("method", ["xavier_uniform", "he_uniform"])
def test_uniform_initializers_have_the_right_bound(method, fan_in, fan_out):
    a = torch_scale(method, fan_in, fan_out)
    # torch's bound and the hand formula may differ in the last bit: rtol, not equality.
    assert HAND_FORMULA[method](fan_in, fan_out) == pytest.approx(a, rel=1e-13)
    W = getattr(init, method)(fan_in, fan_out, np.random.default_rng(6))
    assert W.shape == (fan_in, fan_out)
    assert np.abs(W).max() <= a * (1 + 1e-13)
    # P(max|w| < a(1-d)) = (1-d)**N = ALPHA at d = 1 - ALPHA**(1/N) = 1.0325e-4
    # (NUMERICS.md's 1.03e-4 gives 1.05e-9).
    assert np.abs(W).max() >= a * ALPHA ** (1 / N_INIT)
    # Hoeffding for mean(w**2 / a**2), terms in [0, 1] with mean 1/3 (P <= ALPHA).
    assert abs(np.mean(W ** 2) / a ** 2 - 1 / 3) <= H
    # Shape: KS distance to U(-a, a) within the DKW bound H (P <= ALPHA).
    assert ks_distance(W, lambda w: ((w + a) / (2 * a)).clamp(0, 1)) <= H


@pytest.mark.parametrize("method", ["xavier_normal", "xavier_uniform", "he_normal", "he_uniform"])
def test_initializers_use_only_rng(method):
    np.random.seed(0)
    W1 = getattr(init, method)(30, 20, np.random.default_rng(7))
    np.random.seed(1)  # the global state must not matter
    W2 = getattr(init, method)(30, 20, np.random.default_rng(7))
    assert np.array_equal(W1, W2)
    assert not np.array_equal(W1, getattr(init, method)(30, 20, np.random.default_rng(8)))


@pytest.mark.parametrize("method", ["xavier_normal", "xavier_uniform", "he_normal", "he_uniform"])
def test_init_mlp_draws_each_layer_with_the_named_initializer(method):
    sizes = [5, 4, 3, 2]
    layers = init.init_mlp(sizes, method, np.random.default_rng(9))
    rng = np.random.default_rng(9)  # the same draws, layer by layer
    assert len(layers) == 3
    for (W, b), d_in, d_out in zip(layers, sizes[:-1], sizes[1:]):
        assert np.array_equal(W, getattr(init, method)(d_in, d_out, rng))
        assert b.shape == (d_out,) and not b.any()


@pytest.mark.parametrize("sizes, method", [([5, 3], "glorot"), ([5, 3], "Xavier_normal"),
                                           ([5], "he_normal"), ([], "he_normal")])
def test_init_mlp_rejects_bad_arguments(sizes, method):
    with pytest.raises(ValueError):
        init.init_mlp(sizes, method, np.random.default_rng(0))


# --------------------------------------------------------------------------- dropout

N_DROP = 250_000
# Exact binomial acceptance region for the number of dropped units out of N_DROP, at
# most 5e-10 per tail (ALPHA two-sided), from the binomial pmf summed with math.lgamma
# (scipy.stats.binom.ppf gives the same): p=0.2 -> [48782, 51225] (tails 4.96e-10,
# 5.00e-10), p=0.7 -> [173598, 176397] (4.97e-10, 4.99e-10). As fractions
# [0.195128, 0.2049] and [0.694392, 0.705588]; NUMERICS.md rounds 0.195128 up to 0.19513.
DROPPED_RANGE = {0.2: (48782, 51225), 0.7: (173598, 176397)}


@pytest.mark.parametrize("p", [0.2, 0.7])  # asymmetric: p=0.5 hides a keep/drop mix-up
def test_inverted_dropout_training(p):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(500, 500)) + 10.0  # far from 0: a 0 in out means "dropped"
    x_before = x.copy()
    out, cache = drop.dropout_forward(x, p, True, np.random.default_rng(11))
    dropped = out == 0
    lo, hi = DROPPED_RANGE[p]
    assert lo <= dropped.sum() <= hi
    close(out[~dropped], x[~dropped] / (1 - p), rtol=1e-15, atol=0)
    dout = rng.normal(size=x.shape)
    dx = drop.dropout_backward(dout, cache)  # the same mask, the same scaling
    close(dx, np.where(dropped, 0.0, dout / (1 - p)), rtol=1e-15, atol=0)
    assert np.array_equal(x, x_before)


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_vanilla_dropout_training(p):
    rng = np.random.default_rng(12)
    x = rng.normal(size=(500, 500)) + 10.0
    out, cache = drop.vanilla_dropout_forward(x, p, True, np.random.default_rng(13))
    dropped = out == 0
    lo, hi = DROPPED_RANGE[p]
    assert lo <= dropped.sum() <= hi
    assert np.array_equal(out[~dropped], x[~dropped])  # no scaling
    dout = rng.normal(size=x.shape)
    assert np.array_equal(drop.vanilla_dropout_backward(dout, cache), np.where(dropped, 0.0, dout))


@pytest.mark.parametrize("p", [0.0, 0.2, 0.7])
def test_dropout_test_mode(p):
    rng = np.random.default_rng(14)
    x, dout = rng.normal(size=(4, 7)), rng.normal(size=(4, 7))
    out, cache = drop.dropout_forward(x, p, False, rng)
    assert np.array_equal(out, x)
    assert np.array_equal(drop.dropout_backward(dout, cache), dout)
    out, cache = drop.vanilla_dropout_forward(x, p, False, rng)
    assert np.array_equal(out, x * (1 - p))
    assert np.array_equal(drop.vanilla_dropout_backward(dout, cache), dout * (1 - p))


@pytest.mark.parametrize("forward", [drop.dropout_forward, drop.vanilla_dropout_forward])
def test_dropout_uses_only_rng(forward):
    x = np.random.default_rng(15).normal(size=(20, 30))
    np.random.seed(0)
    out1, _ = forward(x, 0.3, True, np.random.default_rng(16))
    np.random.seed(1)
    out2, _ = forward(x, 0.3, True, np.random.default_rng(16))
    assert np.array_equal(out1, out2)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
@pytest.mark.parametrize("forward", [drop.dropout_forward, drop.vanilla_dropout_forward])
@pytest.mark.parametrize("train", [True, False])
def test_dropout_rejects_p_outside_0_1(forward, p, train):
    with pytest.raises(ValueError):
        forward(np.ones((2, 3)), p, train, np.random.default_rng(0))
