"""L1 penalty squaring the weights (L2's formula without the 0.5).

function: l1_penalty
mistake: decay.l1_penalty_squared
"""
import numpy as np


def l1_penalty(weights, lam):
    return float(lam * sum(np.sum(W ** 2) for W in weights))
