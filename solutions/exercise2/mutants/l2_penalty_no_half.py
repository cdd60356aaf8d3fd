"""L2 penalty without the 0.5: lam * sum(W**2) (the lecture's lambda * sum(w^2)).

function: l2_penalty
mistake: decay.l2_penalty_factor_2
"""
import numpy as np


def l2_penalty(weights, lam):
    return float(lam * sum(np.sum(W ** 2) for W in weights))
