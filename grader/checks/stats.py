"""Statistical bounds with a false-failure probability of at most ALPHA = 1e-9 each.

The grading path imports no scipy: exact quantiles are written down here, with the
command that recomputes them (`python -m grader.checks.stats` needs scipy). Bounds that
hold for every N (Hoeffding, DKW, the uniform maximum) are computed directly.
"""

from __future__ import annotations

import math

import numpy as np

ALPHA = 1e-9

# Dropped fraction of N = 250,000 independent Bernoulli(p) draws: the exact two-sided
# binomial interval, P(outside) <= 1e-9 (scipy.stats.binom.ppf(ALPHA/2 and 1-ALPHA/2) / N,
# widened outward by one count).
DROP_N = 250_000
DROP_INTERVAL = {0.2: (0.19512, 0.20490), 0.7: (0.69439, 0.70559)}

# A normal initializer with N = 200,704 weights (784 x 256): RMS / expected std lies in
# sqrt(chi2.ppf([ALPHA/2, 1-ALPHA/2], N) / N) with probability 1 - 1e-9; |mean| / std is
# within the normal quantile z_{1-ALPHA/2} / sqrt(N) = 6.109 / 448.0.
INIT_N = 784 * 256
NORMAL_RMS_RATIO = (0.99037, 1.00966)
NORMAL_MEAN_RATIO = 0.01364


def binomial_interval(n: int, p: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Fractions [lo, hi] that the fraction of successes of n Bernoulli(p) draws leaves with
    probability at most alpha: the exact interval where written down (DROP_INTERVAL), else
    the Chernoff bound P(F >= q) <= exp(-n KL(q || p)) on each side (alpha/2 each), which
    holds for every n (wider than exact, never narrower)."""
    if n == DROP_N and p in DROP_INTERVAL:
        return DROP_INTERVAL[p]
    if p in (0.0, 1.0):
        return p, p
    target = math.log(2 / alpha) / n

    def kl(q):
        q = min(max(q, 1e-300), 1 - 1e-16)
        return q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))

    def side(lo, hi):  # bisection for kl(q) = target between p (lo) and an end (hi)
        for _ in range(100):
            mid = (lo + hi) / 2
            if kl(mid) > target:
                hi = mid
            else:
                lo = mid
        return hi
    lower = side(p, 0.0) if kl(0.0) > target else 0.0
    upper = side(p, 1.0) if kl(1.0) > target else 1.0
    return lower, upper


def hoeffding(n: int, width: float, alpha: float = ALPHA) -> float:
    """Half-width t with P(|mean - E mean| > t) <= alpha for n i.i.d. values in an interval of `width`."""
    return width * math.sqrt(math.log(2 / alpha) / (2 * n))


def dkw(n: int, alpha: float = ALPHA) -> float:
    """Dvoretzky-Kiefer-Wolfowitz: P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2) = alpha."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


def uniform_max_fraction(n: int, alpha: float = ALPHA) -> float:
    """max|w| of n draws of U(-a, a) is below a * (1 - f) with probability (1 - f)^n = alpha."""
    return 1 - alpha ** (1 / n)


def ks_distance(samples: np.ndarray, cdf) -> float:
    """sup |F_n(x) - F(x)| between the empirical CDF of `samples` and `cdf`."""
    x = np.sort(np.asarray(samples, dtype=float).ravel())
    n = x.size
    f = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))



def ks_on_grid(samples: np.ndarray, cdf, lo: float, hi: float, points: int = 2001) -> float:
    """max over `points` grid values x in [lo, hi] of |F_n(x) - F(x)|: at most the KS distance
    (a supremum over all x), so the DKW bound holds for it too, and a fine grid loses almost
    no power while evaluating the exact CDF at `points` values only (cheap for large samples)."""
    x = np.sort(np.asarray(samples, dtype=float).ravel())
    grid = np.linspace(lo, hi, points)
    return float(np.max(np.abs(np.searchsorted(x, grid, side="right") / x.size - cdf(grid))))

_erf = np.frompyfunc(math.erf, 1, 1)


def normal_cdf(std: float):
    return lambda x: 0.5 * (1 + _erf(np.asarray(x) / (std * math.sqrt(2))).astype(float))


def uniform_cdf(a: float):
    return lambda x: np.clip((np.asarray(x) + a) / (2 * a), 0, 1)


def _recompute() -> None:  # pragma: no cover - needs scipy, run by hand
    from scipy import stats
    for p in DROP_INTERVAL:
        lo = stats.binom.ppf(ALPHA / 2, DROP_N, p) - 1
        hi = stats.binom.ppf(1 - ALPHA / 2, DROP_N, p) + 1
        print(f"drop p={p}: [{lo / DROP_N:.5f}, {hi / DROP_N:.5f}]")
    lo, hi = stats.chi2.ppf([ALPHA / 2, 1 - ALPHA / 2], INIT_N)
    print(f"normal rms ratio: [{math.sqrt(lo / INIT_N):.5f}, {math.sqrt(hi / INIT_N):.5f}]")
    print(f"normal mean ratio: {stats.norm.ppf(1 - ALPHA / 2) / math.sqrt(INIT_N):.5f}")


if __name__ == "__main__":
    _recompute()
