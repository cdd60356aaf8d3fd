"""L1 penalty without the absolute value.

function: l1_penalty
mistake: decay.l1_penalty_no_abs
"""
import numpy as np


def l1_penalty(weights, lam):
    return float(lam * sum(np.sum(W) for W in weights))
