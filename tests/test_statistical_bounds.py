"""The statistical bounds the exercise tests use are sound and sharp.

Sound: each has a false-failure probability of at most 1e-9 by construction, so a correct
implementation passes on every one of many seeds (a bound that is too tight would show
up here). Sharp: the common mistakes move the statistic far outside the bound.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from grader.checks import stats
from tests.conftest import ROOT

SEEDS = range(300)


def load(exercise, module):
    spec = importlib.util.spec_from_file_location(f"_sound_{module}", ROOT / "solutions" / exercise / f"{module}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


dropout = load("exercise3", "dropout")
init = load("exercise1", "initializers")


def dropped_fraction(p, seed, forward=None):
    x = np.random.default_rng(10_000 + seed).standard_normal(stats.DROP_N) + 10
    out, _ = (forward or dropout.dropout_forward)(x, p, True, np.random.default_rng(seed))
    return np.mean(out == 0)


@pytest.mark.parametrize("p", sorted(stats.DROP_INTERVAL))
def test_dropped_fraction_interval_holds_on_many_seeds(p):
    lo, hi = stats.DROP_INTERVAL[p]
    fractions = [dropped_fraction(p, seed) for seed in SEEDS]
    assert all(lo <= f <= hi for f in fractions), (min(fractions), max(fractions))
    # sharp: p taken as the keep probability drops 1 - p, ten or more half-widths away
    assert not lo <= 1 - p <= hi


def test_normal_initializer_bounds_hold_on_many_seeds():
    lo, hi = stats.NORMAL_RMS_RATIO
    for seed in SEEDS:
        w = init.he_normal(784, 256, np.random.default_rng(seed))
        std = math.sqrt(2 / 784)
        assert lo <= np.sqrt(np.mean(w ** 2)) / std <= hi
        assert abs(w.mean()) / std <= stats.NORMAL_MEAN_RATIO
    # sharp: He with fan_out instead of fan_in is off by a factor sqrt(784/256) = 1.75
    w = init.he_normal(256, 784, np.random.default_rng(0))
    assert not lo <= np.sqrt(np.mean(w ** 2)) / std <= hi


def test_uniform_initializer_bounds_hold_on_many_seeds():
    n = stats.INIT_N
    shortfall = stats.uniform_max_fraction(n)
    half_width = stats.hoeffding(n, width=1.0)  # w^2 / a^2 lies in [0, 1]
    for seed in SEEDS:
        w = init.he_uniform(784, 256, np.random.default_rng(seed))
        a = math.sqrt(6 / 784)
        assert np.max(np.abs(w)) <= a
        assert np.max(np.abs(w)) >= a * (1 - shortfall)
        assert abs(np.mean(w ** 2) / a ** 2 - 1 / 3) <= half_width


def test_kolmogorov_smirnov_tells_normal_from_uniform():
    n = stats.INIT_N
    bound = stats.dkw(n)
    for seed in range(40):
        rng = np.random.default_rng(seed)
        std = math.sqrt(2 / (784 + 256))
        assert stats.ks_distance(init.xavier_normal(784, 256, rng), stats.normal_cdf(std)) <= bound
        a = math.sqrt(6 / (784 + 256))
        assert stats.ks_distance(init.xavier_uniform(784, 256, rng), stats.uniform_cdf(a)) <= bound
    # sharp: a uniform sample with the right std is far from the normal CDF (distance ~0.057)
    w = init.xavier_uniform(784, 256, np.random.default_rng(0))
    assert stats.ks_distance(w, stats.normal_cdf(np.std(w))) > 5 * bound



def test_ks_on_a_grid_is_at_most_the_ks_distance_and_still_sharp():
    # the grid version the initializer tests use: a maximum over fewer points than the supremum,
    # so the DKW bound holds for it; it loses almost nothing on a fine grid
    bound = stats.dkw(stats.INIT_N)
    for seed in range(20):
        w = init.xavier_normal(784, 256, np.random.default_rng(seed))
        std = math.sqrt(2 / (784 + 256))
        exact = stats.ks_distance(w, stats.normal_cdf(std))
        grid = stats.ks_on_grid(w, stats.normal_cdf(std), -6 * std, 6 * std)
        assert grid <= exact + 1e-12 and grid <= bound
    w = init.xavier_uniform(784, 256, np.random.default_rng(0))
    s = float(np.std(w))
    assert stats.ks_on_grid(w, stats.normal_cdf(s), -6 * s, 6 * s) > 5 * bound

def test_bounds_are_derived_for_one_in_a_billion():
    assert stats.ALPHA == 1e-9
    # DKW and Hoeffding at alpha: 2 exp(-2 n t^2) = alpha
    n = 200_704
    assert math.isclose(2 * math.exp(-2 * n * stats.dkw(n) ** 2), 1e-9)
    assert math.isclose((1 - stats.uniform_max_fraction(n)) ** n, 1e-9)
