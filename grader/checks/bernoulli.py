"""Statistical checks of arrays of Bernoulli indicators (a dropout mask, a sampled pattern)."""

from __future__ import annotations

import numpy as np

from grader.checks.stats import ALPHA, hoeffding


def neighbour_agreement(indicators, p: float, axis: int, alpha: float = ALPHA) -> tuple[float, float, float]:
    """(agree, q, t) for an array of Bernoulli(p) indicators that should be independent along
    `axis`: `agree` is the fraction of positions where slices 2i and 2i+1 along `axis` hold the
    same value. Two independent indicators agree with probability q = p^2 + (1-p)^2; the pairs
    are disjoint, so their agreements are independent and Hoeffding puts `agree` within
    t = hoeffding(n, 1, alpha) of q with probability >= 1 - alpha. Indicators copied along
    the axis (one draw shared by every slice) agree everywhere: agree = 1."""
    a = np.moveaxis(np.asarray(indicators, dtype=bool), axis, 0)
    n = a.shape[0] // 2 * 2
    same = a[0:n:2] == a[1:n:2]
    return float(same.mean()), p ** 2 + (1 - p) ** 2, hoeffding(same.size, 1.0, alpha)
