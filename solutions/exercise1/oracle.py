"""exercise1's reference solution against torch: the initializers' scales against
torch.nn.init's fan and gain functions, and their draws checked statistically; every
bound says its false-failure probability (at most 1e-9) and where it comes from.

tests/test_oracles.py runs it, as it runs every solutions/<id>/oracle.py; like everything
in solutions/, it never reaches students.
"""
import math

import numpy as np
import pytest
import torch

from grader.oracle import reference, tensor as t


init = reference(__file__, "initializers")


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
