"""Do samples (an initializer's weights, say) look like draws from N(0, std^2) or U(-a, a)?

Random results are never compared value by value: these checks look at their statistics.
Each statistic fails correct draws with probability at most stats.ALPHA = 1e-9 (its
derivation is in the docstring); a check that combines k of them fails correct draws
with probability at most k * 1e-9 (union bound; k is at most 3). `fits_*`, `looks_*` and
`ks_*` return verdicts and distances; `check_*` fail with the student's feedback.
"""

from __future__ import annotations

import math

import numpy as np

from grader.checks import stats
from grader.checks.arrays import fail
from grader.checks.mistakes import Mistake

ROUNDING = 2.0 ** -23  # relative rounding at a uniform's bound (float32 draws land up to 6e-8 beyond a)
NORMAL_TAIL = math.erfc(math.sqrt(1.5))  # P(|Z| > sqrt(3)) = 0.083265; 0 for a uniform of the same std


def normal_bounds(n: int, alpha: float = stats.ALPHA) -> tuple[float, float, float]:
    """(m, lo, hi): n draws of N(0, std^2) have |mean| / std <= m and RMS / std in [lo, hi], each
    except with probability alpha. mean ~ N(0, std^2 / n), so m = z_{1 - alpha/2} / sqrt(n);
    sum(w^2) / std^2 ~ chi2(n), so RMS / std lies in sqrt(chi2.ppf([alpha/2, 1 - alpha/2], n) / n).
    Exact where written down (stats.INIT_N); for other n, z by bisection on erfc and the chi-square
    bounds of Laurent and Massart, P(X >= n + 2 sqrt(n t) + 2t) and P(X <= n - 2 sqrt(n t)) each
    <= e^-t with t = ln(2 / alpha), which hold for every n (wider than exact, never narrower)."""
    if n == stats.INIT_N and alpha == stats.ALPHA:
        return (stats.NORMAL_MEAN_RATIO, *stats.NORMAL_RMS_RATIO)
    lo, hi = 0.0, 40.0
    for _ in range(100):  # z with erfc(z / sqrt(2)) = alpha
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erfc(mid / math.sqrt(2)) > alpha else (lo, mid)
    t = math.log(2 / alpha) / n
    return hi / math.sqrt(n), math.sqrt(max(0.0, 1 - 2 * math.sqrt(t))), math.sqrt(1 + 2 * math.sqrt(t) + 2 * t)


def fits_normal(w, std: float, *, tail: bool = False) -> bool:
    """Do w's mean and RMS fit N(0, std^2) (normal_bounds: 1e-9 each)? With `tail`, also the
    fraction of |w| > sqrt(3) std (NORMAL_TAIL; 0 for a uniform of the same std): a mean of n
    indicators, within Hoeffding's half-width hoeffding(n, 1) except with probability 1e-9."""
    w = np.asarray(w, dtype=float)
    m, lo, hi = normal_bounds(w.size)
    if not (abs(float(np.mean(w))) / std <= m and lo <= float(np.sqrt(np.mean(w ** 2))) / std <= hi):
        return False
    return not tail or abs(float(np.mean(np.abs(w) > math.sqrt(3) * std)) - NORMAL_TAIL) <= stats.hoeffding(w.size, 1)


def reaches_bound(top: float, a: float, n: int) -> bool:
    """Is top = max|w| of n draws of U(-a, a) within [a (1 - f), a (1 + ROUNDING)]? P(max|w| < a (1 - f))
    = (1 - f)^n = alpha at f = stats.uniform_max_fraction(n) (1.03e-4 for n = 200,704)."""
    return a * (1 - stats.uniform_max_fraction(n)) <= top <= a * (1 + ROUNDING)


def fits_uniform(w, a: float) -> bool:
    """Does w fit U(-a, a): reaches_bound, and mean(w^2) / a^2 within Hoeffding's hoeffding(n, 1)
    of 1/3 (w^2 / a^2 lies in [0, 1]; the variance of U(-a, a) is a^2 / 3), 1e-9 each?"""
    w = np.asarray(w, dtype=float)
    return (reaches_bound(float(np.max(np.abs(w))), a, w.size)
            and abs(float(np.mean(w ** 2)) / a ** 2 - 1 / 3) <= stats.hoeffding(w.size, 1))


def fitting_std(w, stds: dict):
    """The first key of `stds` ({key: std}) whose N(0, std^2) w's RMS fits (normal_bounds), or None:
    which of several wrong formulas (a mistake's std) a draw follows."""
    _, lo, hi = normal_bounds(np.size(w))
    rms = float(np.sqrt(np.mean(np.asarray(w, dtype=float) ** 2)))
    return next((key for key, std in stds.items() if lo <= rms / std <= hi), None)


def fitting_bound(w, bounds: dict):
    """The first key of `bounds` ({key: a}) whose U(-a, a) w's max|w| fits (reaches_bound), or None."""
    top = float(np.max(np.abs(w)))
    return next((key for key, a in bounds.items() if reaches_bound(top, a, np.size(w))), None)


def ks_normal(w, std: float) -> float:
    """The Kolmogorov-Smirnov distance of w to N(0, std^2) on a grid over +-6 std (stats.ks_on_grid):
    within the DKW bound stats.dkw(n) (0.0073 at n = 200,704) except with probability 1e-9; a
    uniform with the same std sits at 0.057."""
    return stats.ks_on_grid(w, stats.normal_cdf(std), -6 * std, 6 * std)


def ks_uniform(w, a: float) -> float:
    """The Kolmogorov-Smirnov distance of w to U(-a, a) on a grid over [-a, a] (DKW: stats.dkw(n))."""
    return stats.ks_on_grid(w, stats.uniform_cdf(a), -a, a)


def looks_normal(w) -> bool:
    """Do w's entries pass a KS test (DKW bound) against N(0, rms^2), at their own scale?"""
    s = float(np.sqrt(np.mean(np.asarray(w, dtype=float) ** 2)))
    return s > 0 and ks_normal(w, s) <= stats.dkw(np.size(w))


def looks_uniform(w) -> bool:
    """Do w's entries pass a KS test (DKW bound) against U(-max|w|, max|w|), at their own scale?"""
    a = float(np.max(np.abs(w)))
    return a > 0 and ks_uniform(w, a) <= stats.dkw(np.size(w))


# Checks that fail with the student's feedback: `where` names the call ("he_normal(784, 256, rng)"),
# `formula` the contract's ("std = sqrt(2 / fan_in)"). A wrong statistic first calls `diagnose()`,
# which may fail naming a catalogued mistake (the exercise's); otherwise the message says which
# statistic is off. `not_centred`: the exercise's mistake for a mean far from 0.

def check_normal(w, std: float, *, where: str, formula: str, not_centred: Mistake, diagnose=lambda: None) -> None:
    """Fail unless w's mean and RMS fit N(0, std^2) (fits_normal)."""
    if fits_normal(w, std):
        return
    diagnose()
    (_, lo, hi), rms, mean = normal_bounds(np.size(w)), float(np.sqrt(np.mean(w ** 2))), float(np.mean(w))
    if not lo <= rms / std <= hi:
        fail("{where}: the weights' standard deviation is {rms:.4g}; expected {formula} = {std:.4g} (the "
             "statistics of {n} draws allow {lo:.4f} to {hi:.4f} times that)", where=where, rms=rms,
             formula=formula, std=std, n=np.size(w), lo=lo, hi=hi)
    fail("{where}: {mistake} (std = {std:.4g})", where=where, mistake=not_centred, mean=mean, std=std)


def check_bound(w, a: float, *, where: str, formula: str, diagnose=lambda: None) -> None:
    """Fail unless every |w| <= a and max|w| comes close to a (reaches_bound)."""
    top = float(np.max(np.abs(w)))
    if reaches_bound(top, a, np.size(w)):
        return
    diagnose()
    if top > a:
        fail("{where}: {outside} weights lie outside [-a, a] (largest |w| = {top:.4g}; {formula} = {a:.4g}): "
             "draw with rng.uniform(-a, a, size=...)", where=where, outside=int(np.sum(np.abs(w) > a * (1 + ROUNDING))),
             top=top, formula=formula, a=a)
    fail("{where}: the largest |w| is {top:.4g}, but {n} draws from U(-a, a) with {formula} = {a:.4g} come within "
         "{fraction:.2g}·a of a: your bound is too small", where=where, top=top, n=np.size(w), formula=formula, a=a,
         fraction=stats.uniform_max_fraction(np.size(w)))


def check_uniform_shape(w, a: float, *, where: str, formula: str, not_centred: Mistake,
                        diagnose=lambda: None) -> None:
    """Fail unless w is centred (w / a lies in [-1, 1], width 2: |mean(w) / a| <= hoeffding(n, 2),
    0.0146 at n = 200,704), mean(w^2) / a^2 is 1/3 (fits_uniform's Hoeffding bound) and a KS test
    against U(-a, a) passes (DKW): 1e-9 each."""
    n, mean, s = np.size(w), float(np.mean(w)) / a, float(np.mean(w ** 2)) / a ** 2
    if abs(mean) > stats.hoeffding(n, 2.0):
        fail("{where}: {mistake}", where=where, mistake=not_centred, mean=mean)
    if abs(s - 1 / 3) > stats.hoeffding(n, 1.0):
        diagnose()
        fail("{where}: mean(w^2) / a^2 is {s:.4f}; U(-a, a) with {formula} = {a:.4g} gives 1/3 (its variance is "
             "a^2 / 3)", where=where, s=s, formula=formula, a=a)
    d = ks_uniform(w, a)
    if d > stats.dkw(n):
        diagnose()
        fail("{where}: the weights do not look uniform on [-a, a] (Kolmogorov-Smirnov distance {d:.3g} > "
             "{bound:.3g}): draw with rng.uniform(-a, a, size=...)", where=where, d=d, bound=stats.dkw(n))


def check_normal_shape(w, std: float, *, where: str, formula: str, diagnose=lambda: None) -> None:
    """Fail unless a KS test against N(0, std^2) passes (ks_normal, DKW: 1e-9)."""
    d = ks_normal(w, std)
    if d <= stats.dkw(np.size(w)):
        return
    diagnose()
    fail("{where}: the weights do not look like draws from N(0, std^2) with {formula} = {std:.4g} "
         "(Kolmogorov-Smirnov distance {d:.3g} > {bound:.3g})", where=where, formula=formula, std=std, d=d,
         bound=stats.dkw(np.size(w)))
