"""L1 subgradient as W / |W|: NaN where W == 0.

function: l1_grad
mistake: result.not_finite
"""
import numpy as np


def l1_grad(W, lam):
    return lam * W / np.abs(W)
