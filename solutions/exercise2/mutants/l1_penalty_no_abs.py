"""L1 penalty without the absolute value.

function: l1_penalty
diagnosis: absolute value is missing
"""
import numpy as np


def l1_penalty(weights, lam):
    return float(lam * sum(np.sum(W) for W in weights))
