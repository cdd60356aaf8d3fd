"""exercise3's reference solution: dropout's masks and scaling, checked statistically
(random functions are not compared value by value); every bound says its false-failure
probability (at most 1e-9) and where it comes from.

tests/test_oracles.py runs it, as it runs every solutions/<id>/oracle.py; like everything
in solutions/, it never reaches students.
"""

import numpy as np
import pytest

from grader.oracle import close, reference


drop = reference(__file__, "dropout")


# --------------------------------------------------------------------------- dropout

N_DROP = 250_000
# Exact binomial acceptance region for the number of dropped units out of N_DROP, at
# most 5e-10 per tail (1e-9 two-sided), from the binomial pmf summed with math.lgamma
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
