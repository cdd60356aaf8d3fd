"""L2 penalty overwriting its total in the loop: only the last array counts.

function: l2_penalty
mistake: decay.l2_penalty_last_only
"""
import numpy as np


def l2_penalty(weights, lam):
    for W in weights:
        total = 0.5 * lam * np.sum(W ** 2)
    return float(total)
