"""L1 subgradient +lam at W == 0: np.where(W >= 0, 1, -1).

function: l1_grad
diagnosis: at W == 0 your gradient is +lam
"""
import numpy as np


def l1_grad(W, lam):
    return lam * np.where(W >= 0, 1.0, -1.0)
