"""grader.checks.samples: random draws judged against N(0, std^2) and U(-a, a).

Sound: correct draws pass every check on many seeds (each check's false-failure probability
is at most 1e-9 by construction, so a bound that is too tight shows up here). Sharp: the
mistakes the checks exist for (another std or bound, the other distribution, a shifted
mean) fail them. The check_* functions fail with the student's feedback, after the caller's
diagnosis has had its chance to name a catalogued mistake.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.checks import CheckFailed, fail, mistake, samples, stats

N = stats.INIT_N
SEEDS = range(40)
NOT_CENTRED = mistake("samples.not_centred", "the mean is not 0 (mean = {mean:.3g})")


def draws(seed, kind, scale, n=N):
    rng = np.random.default_rng(seed)
    return rng.normal(0, scale, n) if kind == "normal" else rng.uniform(-scale, scale, n)


def test_the_bounds_at_the_written_down_size_are_the_exact_ones_and_the_general_ones_are_wider():
    assert samples.normal_bounds(N) == (stats.NORMAL_MEAN_RATIO, *stats.NORMAL_RMS_RATIO)
    # a marginally smaller alpha forces the bounds that hold for every n: never narrower than exact
    m, lo, hi = samples.normal_bounds(N, alpha=stats.ALPHA * (1 - 1e-9))
    assert lo < stats.NORMAL_RMS_RATIO[0] and hi > stats.NORMAL_RMS_RATIO[1]
    assert math.erfc(m * math.sqrt(N) / math.sqrt(2)) == pytest.approx(stats.ALPHA, rel=1e-6)


@pytest.mark.parametrize("n", [1000, 30_000])
def test_the_general_bounds_hold_on_many_seeds(n):
    _, lo, hi = samples.normal_bounds(n)
    for seed in SEEDS:
        w = draws(seed, "normal", 0.3, n)
        assert samples.fits_normal(w, 0.3), seed
        assert lo <= np.sqrt(np.mean(w ** 2)) / 0.3 <= hi


@pytest.mark.parametrize("seed", SEEDS)
def test_correct_draws_pass_every_check(seed):
    w, u = draws(seed, "normal", 0.05), draws(seed, "uniform", 0.08)
    assert samples.fits_normal(w, 0.05, tail=True) and samples.looks_normal(w)
    assert samples.fits_uniform(u, 0.08) and samples.looks_uniform(u)
    samples.check_normal(w, 0.05, where="w", formula="std", not_centred=NOT_CENTRED)
    samples.check_normal_shape(w, 0.05, where="w", formula="std")
    samples.check_bound(u, 0.08, where="u", formula="a")
    samples.check_uniform_shape(u, 0.08, where="u", formula="a", not_centred=NOT_CENTRED)


def test_float32_draws_rounded_beyond_the_bound_pass():
    u = draws(0, "uniform", 0.08).astype(np.float32)
    assert samples.fits_uniform(u, 0.08) and samples.reaches_bound(0.08 * (1 + 2.0 ** -24), 0.08, N)


def test_the_mistakes_fail_and_are_told_apart():
    std = 0.05
    w = draws(1, "normal", std)
    same_std_uniform = draws(1, "uniform", std * math.sqrt(3))
    assert not samples.fits_normal(w, std * 1.03)                    # a std 3% off
    assert not samples.fits_normal(w + 0.1 * std, std)               # a shifted mean
    assert samples.fits_normal(same_std_uniform, std)                # mean and RMS cannot see it...
    assert not samples.fits_normal(same_std_uniform, std, tail=True)  # ...the tail can
    assert samples.ks_normal(same_std_uniform, std) > stats.dkw(N)
    assert samples.looks_uniform(same_std_uniform) and not samples.looks_normal(same_std_uniform)
    assert not samples.fits_uniform(w, float(np.max(np.abs(w))))
    assert not samples.fits_uniform(same_std_uniform, std * math.sqrt(3) * 1.01)  # a bound 1% too large
    stds = {"half": std / 2, "right": std, "double": 2 * std}
    assert samples.fitting_std(w, stds) == "right" and samples.fitting_std(w, {"x": 3 * std}) is None
    assert samples.fitting_bound(same_std_uniform, {"small": std, "right": std * math.sqrt(3)}) == "right"


def test_a_check_fails_with_the_feedback_after_the_callers_diagnosis():
    w = draws(2, "normal", 0.05)
    with pytest.raises(CheckFailed, match=r"f\(3, 4, rng\): the weights' standard deviation is 0\.0[45]\d*; expected"):
        samples.check_normal(w, 0.1, where="f(3, 4, rng)", formula="std = 0.1", not_centred=NOT_CENTRED)
    with pytest.raises(CheckFailed, match="named first") as caught:
        samples.check_normal(w, 0.1, where="f", formula="std", not_centred=NOT_CENTRED,
                             diagnose=lambda: fail(mistake("samples.named", "named first")))
    assert caught.value.mistake == "samples.named"
    with pytest.raises(CheckFailed, match="weights lie outside") as caught:
        samples.check_bound(draws(3, "uniform", 0.2), 0.1, where="g", formula="a = 0.1")
    with pytest.raises(CheckFailed, match="your bound is too small"):
        samples.check_bound(draws(3, "uniform", 0.1), 0.2, where="g", formula="a = 0.2")
    with pytest.raises(CheckFailed, match="the mean is not 0") as caught:
        samples.check_uniform_shape(draws(3, "uniform", 0.1) + 0.05, 0.1, where="g", formula="a",
                                    not_centred=NOT_CENTRED)
    assert caught.value.mistake == "samples.not_centred"
    with pytest.raises(CheckFailed, match="do not look uniform"):  # right mean and second moment, wrong shape
        samples.check_uniform_shape(np.concatenate([np.full(N // 2, 0.1 / math.sqrt(3)),
                                                    np.full(N // 2, -0.1 / math.sqrt(3))]), 0.1, where="g",
                                    formula="a", not_centred=NOT_CENTRED)
    with pytest.raises(CheckFailed, match=r"do not look like draws from N\(0, std\^2\)"):
        samples.check_normal_shape(draws(4, "uniform", 0.05 * math.sqrt(3)), 0.05, where="h", formula="std")
